"""The share kit: short link codes (/s/CODE) and clicks counted per campaign, language, network and day.

Nothing about the person who clicks is stored: no address, no user agent, no cookie; only the day's count.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("campaign_id", sa.String(200), sa.ForeignKey("campaigns.id"), nullable=False),
        sa.Column("language", sa.String(20), nullable=False),
        sa.Column("network", sa.String(40), nullable=False),
    )
    op.create_table(
        "share_clicks",
        sa.Column("campaign_id", sa.String(200), sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("language", sa.String(20), primary_key=True),
        sa.Column("network", sa.String(40), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("clicks", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("share_clicks")
    op.drop_table("share_links")
