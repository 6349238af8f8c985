"""cancel_asked: who asked to cancel a post that may already have gone out (in doubt: an earlier attempt's answer
was lost). Such a post is not cancelled blindly: its account is read back at once, and it is cancelled if the
post is not there (bot/actions/posts.py cancel, bot/worker/recovery.py).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("cancel_asked_by", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("cancel_asked_by")
