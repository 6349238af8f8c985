"""Order the claim index by (due_at, id), so claiming stays flat when thousands are due at the same instant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_deliveries_account_status_due", "deliveries")
    op.create_index("ix_deliveries_account_status_due", "deliveries", ["account_id", "status", "due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_account_status_due", "deliveries")
    op.create_index("ix_deliveries_account_status_due", "deliveries", ["account_id", "status", "due_at"])
