"""Approvals reference what they approve by key: each delivery awaiting (or once given) approval names its
approval request (deliveries.approval_id) instead of the request naming a plan-key prefix; a rejection keeps its
reason.

No foreign key on deliveries.approval_id: adding one on SQLite rebuilds the deliveries table (the largest, and
the hot path's); the actions layer is the only writer of both (bot/actions/).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("approval_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")))
    op.create_index("ix_deliveries_approval", "deliveries", ["approval_id"])
    op.execute(sa.text(
        "UPDATE deliveries SET approval_id = (SELECT a.id FROM approvals a WHERE a.plan_key_prefix IS NOT NULL "
        "AND substr(deliveries.plan_key, 1, length(a.plan_key_prefix)) = a.plan_key_prefix) "
        "WHERE kind = 'queued'"))
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("reason", sa.Text()))
        batch.drop_column("plan_key_prefix")


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("plan_key_prefix", sa.String(500)))
        batch.drop_column("reason")
    op.drop_index("ix_deliveries_approval", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("approval_id")
