"""Reach: counts collected back per post, the target's responses, each account's reading state.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from bot.store.models import Id, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reach_snapshots",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", Id, sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("collected_at", UTCDateTime(), nullable=False),
        sa.Column("reposts", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("quotes", sa.Integer()),
    )
    op.create_index("ix_reach_snapshots_delivery_collected", "reach_snapshots", ["delivery_id", "collected_at"])
    op.create_table(
        "target_responses",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("campaign_id", sa.String(200), sa.ForeignKey("campaigns.id"), nullable=False),
        sa.Column("network", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("delivery_id", Id, sa.ForeignKey("deliveries.id")),
        sa.Column("author", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("remote_id", sa.String(500), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("network", "remote_id", name="uq_target_responses_network_remote"),
    )
    op.create_index("ix_target_responses_campaign", "target_responses", ["campaign_id", "received_at"])
    op.create_table(
        "reach_accounts",
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("cursor", sa.String(200)),
        sa.Column("window_start", UTCDateTime()),
        sa.Column("reads_used", sa.Integer(), nullable=False),
        sa.Column("retry_at", UTCDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("unavailable", sa.Text()),
        sa.Column("others_answers", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime()),
    )


def downgrade() -> None:
    op.drop_table("reach_accounts")
    op.drop_index("ix_target_responses_campaign", "target_responses")
    op.drop_table("target_responses")
    op.drop_index("ix_reach_snapshots_delivery_collected", "reach_snapshots")
    op.drop_table("reach_snapshots")
