"""The supporters' step of the worker, run after each dispatch tick (bot/daemon.py ``amplify_job``):

1. the connected supporters this process has not read yet (at its first tick, every one; then those who
   connected since) are read in one query and remembered by the account directory, so no boost needs a query
   of its own to find its account. Each one's settings are built when it first boosts: reading 100,000
   supporters builds none of them. A wave of supporters read before costs no read at all: a supporter's row
   never changes while connected (connecting again makes a new supporter), so it is read once per process.
   With no supporter connected, that one statement is all the step costs;
2. supporters whose grant a network refused (the dispatcher disabled their account on a 401) are
   disconnected: tokens deleted, planned boosts cancelled;
3. every published organisation post with no wave yet gets its wave of boosts (bot/outbox/amplify.py).

Which supporters were read is kept per account directory (one per process): the highest supporter id read.
Ids are numbered as supporters are written, not as they commit, so a supporter who commits after one
written later is missed here; their boosts then find their account one query each, as they would with no
preload at all (slower, never wrong).

Tests and the benchmark call ``tick`` directly instead of running the daemon.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol
from weakref import WeakKeyDictionary

from bot.accounts.directory import AccountDirectory
from bot.config import Config
from bot.outbox.amplify import plan_waves
from bot.outbox.link import autocommit
from bot.store.deps import Database
from bot.supporters.accounts import reach_of, remember_connected, revoked


class Waves(Database, Protocol):
    @property
    def config(self) -> Config: ...

    @property
    def accounts(self) -> AccountDirectory: ...


log = logging.getLogger(__name__)
_looked_at: WeakKeyDictionary[AccountDirectory, int] = WeakKeyDictionary()
"""Per account directory: the highest id of the connected supporters read (step 1)."""


@dataclass(frozen=True)
class Tick:
    planned: int
    disconnected: int
    read: int = 0
    """Connected supporters read (and remembered by the account directory) at this tick."""


def tick(app: Waves, limit: int = 50) -> Tick:
    now = app.clock.now()
    reach = reach_of(app.config.amplify.local_servers)
    # No ORM session and no transaction (SQLite's driver begins none for a read; there, setting autocommit
    # would cost a statement): with no supporter connected, this statement is the step's one cost.
    conn = app.engine.connect()
    with autocommit(conn) if conn.dialect.name == "postgresql" else conn:
        connected = remember_connected(app.accounts, conn, _looked_at.get(app.accounts, 0), reach)
    if connected is None:
        return Tick(0, 0)
    _looked_at[app.accounts], read = connected
    disconnected = revoked(app.sessions, now)
    if disconnected:
        log.warning("%d supporter(s) disconnected: the network refused their grant", disconnected)
    with app.engine.begin() as conn:
        planned = plan_waves(conn, now, app.config.amplify.window_seconds, limit)
    if planned:
        log.info("planned %d supporters' boosts (window %s)", planned, app.config.amplify.window)
    return Tick(planned, disconnected, read)
