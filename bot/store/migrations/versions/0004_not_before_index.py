"""Index deferred deliveries by when they may go, for the dispatcher's wake-up time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_status_not_before", "deliveries", ["status", "not_before"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_status_not_before", "deliveries")
