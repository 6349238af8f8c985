"""Alerts (issue 12): each event once, and its queue of sends, one per destination.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("campaign_id", sa.String(200)),
        sa.Column("account_id", sa.String(200)),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("link", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("event", "subject", name="uq_alerts_event_subject"),
    )
    op.create_table(
        "alert_sends",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", Id, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("destination", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("alert_id", "destination", name="uq_alert_sends_alert_destination"),
    )
    op.create_index("ix_alert_sends_status_next", "alert_sends", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_sends_status_next", table_name="alert_sends")
    op.drop_table("alert_sends")
    op.drop_table("alerts")
