"""The supporters' step of the worker, run after each dispatch tick (bot/daemon.py ``amplify_job``):

1. supporters whose grant a network refused (the dispatcher disabled their account on a 401) are
   disconnected: tokens deleted, planned boosts cancelled;
2. every published organisation post with no wave yet gets its wave of boosts (bot/outbox/amplify.py);
3. the accounts of supporters with boosts planned in rows this process has not looked at yet (its own
   waves, another worker's, or, at its first tick, every pending one) are read in one query and remembered
   by the account directory, so no boost needs a query of its own to find its account. Each one's settings
   are built when it first boosts: reading a wave of 100,000 builds none of them.

Which rows were looked at is kept per account directory (one per process): the highest delivery id read
(``newest_row``). Rows are numbered as they are written, not as they commit, so a wave that commits after a
row written later is missed here; its boosts then find their accounts one query each, as they would with no
preload at all (slower, never wrong).

Tests and the benchmark call ``tick`` directly instead of running the daemon.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol
from weakref import WeakKeyDictionary

from sqlalchemy import exists, select

from bot.accounts.directory import AccountDirectory
from bot.config import Config
from bot.outbox.amplify import newest_row, plan_waves
from bot.states import SupporterState
from bot.store.deps import Database
from bot.store.supporters import SupporterRow
from bot.supporters.accounts import reach_of, remember_waiting, revoked


class Waves(Database, Protocol):
    @property
    def config(self) -> Config: ...

    @property
    def accounts(self) -> AccountDirectory: ...


log = logging.getLogger(__name__)
_looked_at: WeakKeyDictionary[AccountDirectory, int] = WeakKeyDictionary()
"""Per account directory: the newest delivery row whose pending boosts' accounts were read (step 3)."""


@dataclass(frozen=True)
class Tick:
    planned: int
    disconnected: int


def tick(app: Waves, limit: int = 50) -> Tick:
    now = app.clock.now()
    with app.sessions() as session:
        if not session.scalar(select(exists().where(SupporterRow.state == SupporterState.CONNECTED))):
            return Tick(0, 0)
    disconnected = revoked(app.sessions, now)
    if disconnected:
        log.warning("%d supporter(s) disconnected: the network refused their grant", disconnected)
    with app.engine.begin() as conn:
        planned = plan_waves(conn, now, app.config.amplify.window_seconds, limit)
        looked_at, newest = _looked_at.get(app.accounts, 0), newest_row(conn)
        # Not every waiting boost at every tick: a wave of 100,000 draining would be read again each time.
        if newest > looked_at:  # read in one query, not one lookup (and a second connection) per account
            remember_waiting(app.accounts, conn, looked_at, reach_of(app.config.amplify.local_servers))
    _looked_at[app.accounts] = newest
    if planned:
        log.info("planned %d supporters' boosts (window %s)", planned, app.config.amplify.window)
    return Tick(planned, disconnected)
