"""This database's own key, in every post's idempotency key and Bluesky record key.

Delivery ids restart at 1 in a new database: with the key "campaign-bot-1" alone, the first post of a
re-created database (or of staging and production sharing an account) was answered by Mastodon with the
earlier database's post of the same key (kept an hour) and recorded as sent: a post silently lost.

A new database gets a random key. A database that already holds deliveries gets '' and keeps the old keys,
so a post tried before the upgrade is retried with the key it was first sent with (never twice).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "installation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(40), nullable=False),
    )
    held = op.get_bind().execute(sa.text("SELECT 1 FROM deliveries LIMIT 1")).first() is not None
    op.bulk_insert(table, [{"id": 1, "key": "" if held else uuid.uuid4().hex[:16]}])


def downgrade() -> None:
    op.drop_table("installation")
