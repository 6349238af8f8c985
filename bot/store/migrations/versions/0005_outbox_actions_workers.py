"""The outbox: a delivery's action (post today; boost and unboost next), an account held as misconfigured,
and a table of live workers whose heartbeats free a dead worker's claims.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from bot.store.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("action", sa.String(20), nullable=False, server_default="post"))
    op.add_column("account_state", sa.Column("misconfigured_reason", sa.Text()))
    op.add_column("account_state", sa.Column("misconfigured_at", UTCDateTime()))
    op.create_table(
        "workers",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workers")
    with op.batch_alter_table("account_state") as batch:
        batch.drop_column("misconfigured_at")
        batch.drop_column("misconfigured_reason")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("action")
