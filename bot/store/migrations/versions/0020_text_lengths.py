"""text_lengths: each delivery's text length as its network counts it, measured when the row is planned or
edited, so a send does not measure it again (bot/worker/dispatch.py trusts it only for the network it was
measured for). Rows planned before have none and are measured at send time as before.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("text_length", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("length_for", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("length_for")
        batch.drop_column("text_length")
