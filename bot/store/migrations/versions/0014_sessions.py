"""Server-side web sessions (ended by logout, a password change or a reset), counters that slow down guessing
(sign-in and connect attempts), an expiry on one-time links; the cookie-signing key leaves the database.

The web_secret row held the key that signed session cookies in plain text: whoever read the database or a
backup could sign in as anyone. Cookies are now signed with a key derived from CAMPAIGN_BOT_SECRET_KEY (or one
made per process), and hold only a random session id whose hash is in web_sessions. Everyone signs in again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from bot.store.models import Id, UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("next_allowed_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("signin_token_expires_at", UTCDateTime()))
    op.drop_table("web_secret")


def downgrade() -> None:
    op.create_table("web_secret", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("value", sa.String(200), nullable=False))
    with op.batch_alter_table("users") as batch:
        batch.drop_column("signin_token_expires_at")
    op.drop_table("rate_limits")
    op.drop_index("ix_web_sessions_user_id", "web_sessions")
    op.drop_table("web_sessions")
