"""Supporters: their accounts (tokens encrypted), the campaigns they chose, Mastodon apps per instance, and
the organisation posts whose boosts were planned.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from bot.store.models import Id, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supporters",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("network", sa.String(40), nullable=False),
        sa.Column("instance", sa.String(300)),
        sa.Column("api_base_url", sa.Text()),
        sa.Column("handle", sa.String(300)),
        sa.Column("credentials", sa.Text()),
        sa.Column("all_campaigns", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("disconnect_reason", sa.Text()),
        sa.Column("manage_token_hash", sa.String(64), unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("disconnected_at", UTCDateTime()),
    )
    op.create_index("ix_supporters_state_network", "supporters", ["state", "network"])
    op.create_table(
        "supporter_campaigns",
        sa.Column("supporter_id", Id, sa.ForeignKey("supporters.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("campaign_id", sa.String(200), primary_key=True),
    )
    op.create_table(
        "mastodon_apps",
        sa.Column("instance", sa.String(300), primary_key=True),
        sa.Column("api_base_url", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "amplify_waves",
        sa.Column("delivery_id", Id, primary_key=True, autoincrement=False),
        sa.Column("campaign_id", sa.String(200), nullable=False),
        sa.Column("planned_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_amplify_waves_campaign_id", "amplify_waves", ["campaign_id"])


def downgrade() -> None:
    for table in ("amplify_waves", "mastodon_apps", "supporter_campaigns", "supporters"):
        op.drop_table(table)
