"""control_row: the emergency stop's one row (id 1) exists from the start, so the first stop ever updates a row
that is there, locked, instead of inserting it. A dispatcher re-checking a post whose answer was lost
(bot/outbox/record.py recheck_doubt) waits on that row's lock for a stop under way: with no row there was
nothing to wait for, and a post whose answer was lost in the instant the first stop was committing stayed in
doubt until the stop was lifted. Two people's first stops at once no longer collide on the insert either.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("INSERT INTO control (id, paused_all) SELECT 1, :off WHERE NOT EXISTS "
                       "(SELECT 1 FROM control WHERE id = 1)").bindparams(off=False))


def downgrade() -> None:
    """The row stays: it holds the stop's state, and the code before this revision uses it as it is."""
