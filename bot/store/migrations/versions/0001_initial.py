"""Initial tables: campaigns, deliveries, audit log, control, account state.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from bot.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(40)),
        sa.Column("file_status", sa.String(20)),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("close_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("grace_seconds", sa.Integer(), nullable=False, server_default="3600"),
        sa.Column("planned_hash", sa.String(64)),
        sa.Column("planned_until", UTCDateTime()),
        sa.Column("state_changed_at", UTCDateTime()),
        sa.Column("state_changed_by", sa.String(200)),
        sa.Column("state_note", sa.Text()),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("plan_key", sa.String(500), nullable=False, unique=True),
        sa.Column("campaign_id", sa.String(200), sa.ForeignKey("campaigns.id"), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("network", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("rule_id", sa.String(200)),
        sa.Column("language", sa.String(20), nullable=False),
        sa.Column("variant", sa.Integer()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media", sa.JSON()),
        sa.Column("reply_in_thread", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("not_before", UTCDateTime()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_expires_at", UTCDateTime()),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("remote_id", sa.String(500)),
        sa.Column("remote_url", sa.Text()),
        sa.Column("remote_ref", sa.JSON()),
        sa.Column("in_reply_to", sa.String(500)),
        sa.Column("thread_root", sa.JSON()),
        sa.Column("error", sa.Text()),
        sa.Column("error_kind", sa.String(40)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_deliveries_status_due", "deliveries", ["status", "due_at"])
    op.create_index("ix_deliveries_account_status_due", "deliveries", ["account_id", "status", "due_at"])
    op.create_index(
        "ix_deliveries_campaign_account_kind", "deliveries", ["campaign_id", "account_id", "kind", "status"]
    )
    op.create_index("ix_deliveries_lease", "deliveries", ["status", "lease_expires_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("campaign_id", sa.String(200)),
        sa.Column("note", sa.Text()),
        sa.Column("details", sa.JSON()),
    )
    op.create_index("ix_audit_log_campaign_id", "audit_log", ["campaign_id"])
    op.create_table(
        "control",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("paused_all", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.Text()),
        sa.Column("changed_by", sa.String(200)),
        sa.Column("changed_at", UTCDateTime()),
    )
    op.create_table(
        "account_state",
        sa.Column("account_id", sa.String(200), primary_key=True),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("disabled_at", UTCDateTime()),
        sa.Column("rate_limited_until", UTCDateTime()),
        sa.Column("session", sa.JSON()),
        sa.Column("limits", sa.JSON()),
        sa.Column("updated_at", UTCDateTime()),
    )


def downgrade() -> None:
    op.drop_table("account_state")
    op.drop_table("control")
    op.drop_index("ix_audit_log_campaign_id", "audit_log")
    op.drop_table("audit_log")
    op.drop_table("deliveries")
    op.drop_table("campaigns")
