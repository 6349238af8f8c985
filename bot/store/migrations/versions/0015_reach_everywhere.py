"""Threads, Telegram and Facebook, and letters to the target.

- account_state.progress: work an adapter started and must resume after a crash (a Threads container, kept
  between making it and publishing it).
- share_links.kind and share_clicks.kind: a short link is a share button's ("share") or a letter's "write"
  ("letter"); a letter's count is kept under how it is sent (email, form, post) where a share's is kept under
  its network. share_clicks gets kind in its primary key, so it is rebuilt (it holds only counts).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _clicks(name: str, *, kind: bool) -> None:
    columns: list[sa.Column[object]] = [
        sa.Column("campaign_id", sa.String(200), sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("language", sa.String(20), primary_key=True),
        sa.Column("network", sa.String(40), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("clicks", sa.Integer(), nullable=False),
    ]
    if kind:
        columns.insert(1, sa.Column("kind", sa.String(20), primary_key=True, server_default="share"))
    op.create_table(name, *columns)


def upgrade() -> None:
    with op.batch_alter_table("account_state") as batch:
        batch.add_column(sa.Column("progress", sa.JSON()))
    with op.batch_alter_table("share_links") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="share"))
    _clicks("share_clicks_new", kind=True)
    op.execute(sa.text("INSERT INTO share_clicks_new (campaign_id, kind, language, network, day, clicks) "
                       "SELECT campaign_id, 'share', language, network, day, clicks FROM share_clicks"))
    op.drop_table("share_clicks")
    op.rename_table("share_clicks_new", "share_clicks")


def downgrade() -> None:
    _clicks("share_clicks_old", kind=False)
    op.execute(sa.text("INSERT INTO share_clicks_old (campaign_id, language, network, day, clicks) "
                       "SELECT campaign_id, language, network, day, clicks FROM share_clicks WHERE kind = 'share'"))
    op.drop_table("share_clicks")
    op.rename_table("share_clicks_old", "share_clicks")
    op.execute(sa.text("DELETE FROM share_links WHERE kind <> 'share'"))
    with op.batch_alter_table("share_links") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("account_state") as batch:
        batch.drop_column("progress")
