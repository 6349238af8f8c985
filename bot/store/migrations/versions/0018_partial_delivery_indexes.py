"""Four indexes of deliveries hold only the rows their queries look for: a planned row (every row of a
supporters' wave, every row a plan writes) has no sent_at, lease, approval or not_before, and no longer costs
an entry in each of them. Writing a 100,000-boost wave maintained nine indexes per row; now five.

Each query that used one of them compares the column with a value (``sent_at >= :since``, ``lease_expires_at
< :now``, ``approval_id = :id``, ``not_before > :now``), which implies it is not null: PostgreSQL and SQLite
both use a partial index for such a query.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

PARTIAL = {
    "ix_deliveries_account_sent": (["account_id", "sent_at"], "sent_at IS NOT NULL"),
    "ix_deliveries_lease": (["status", "lease_expires_at"], "lease_expires_at IS NOT NULL"),
    "ix_deliveries_status_not_before": (["status", "not_before"], "not_before IS NOT NULL"),
    "ix_deliveries_approval": (["approval_id"], "approval_id IS NOT NULL"),
}


def upgrade() -> None:
    for name, (columns, where) in PARTIAL.items():
        op.drop_index(name, "deliveries")
        op.create_index(name, "deliveries", columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade() -> None:
    for name, (columns, _where) in PARTIAL.items():
        op.drop_index(name, "deliveries")
        op.create_index(name, "deliveries", columns)
