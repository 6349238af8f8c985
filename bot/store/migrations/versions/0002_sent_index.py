"""Index deliveries by account and sent time, for counting rate budgets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_account_sent", "deliveries", ["account_id", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_account_sent", "deliveries")
