"""The one place that wires the application: config -> store -> networks -> clock.

The CLI, the daemon and the tests all call bootstrap(); tests pass a FakeClock and fake networks.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.accounts.directory import AccountDirectory, AccountView
from bot.accounts.state import DbAccountStore
from bot.campaigns.cache import LoadCache
from bot.clock import Clock, SystemClock
from bot.config.settings import Config
from bot.networks.base import Network
from bot.store.db import ensure_schema, make_engine, make_sessionmaker
from bot.store.models import InstallationRow

if TYPE_CHECKING:  # the campaign files' loader is imported when first used: a restart whose files did not
    # change reads none (bot/planning/scan.py) and starts without it, its templates and its checks
    from bot.campaigns.loader import LoadResult

log = logging.getLogger(__name__)
OUTSIDE_ADAPTERS = 1000
"""How many adapters of accounts from outside the config (supporters) a process keeps; older ones are built
again when next needed (their state, e.g. a Bluesky session, is in the database)."""


@dataclass
class App:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    owner: str
    accounts: AccountDirectory
    network_overrides: Mapping[str, Network] = field(default_factory=dict)
    _networks: dict[str, Network] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _outside: deque[str] = field(default_factory=deque)
    """Adapters kept for accounts from outside the config, oldest first (at most OUTSIDE_ADAPTERS)."""
    _load_cache: LoadCache = field(default_factory=LoadCache)
    _install_key: str | None = None

    def post_key(self, delivery_id: int) -> str:
        """The idempotency key of every attempt of a delivery: unique across databases (bot.store.models
        InstallationRow), the same on every attempt."""
        if self._install_key is None:
            with self.engine.connect() as conn:
                self._install_key = conn.execute(select(InstallationRow.key).where(InstallationRow.id == 1)
                                                 ).scalar_one_or_none() or ""
        return f"campaign-bot-{self._install_key}-{delivery_id}" if self._install_key else f"campaign-bot-{delivery_id}"

    def account(self, account_id: str) -> AccountView | None:
        return self.accounts.view(account_id)

    def network(self, account_id: str) -> Network:
        """The adapter that posts for an account, built once and reused (sessions, caches).

        Raises networks.base.Misconfigured for an account the directory does not know (outside console mode).
        """
        with self._lock:
            if account_id in self._networks:
                return self._networks[account_id]
            net: Network
            if account_id in self.network_overrides:
                net = self.network_overrides[account_id]
            else:
                net = self.accounts.network(account_id, DbAccountStore(self.sessions, self.clock, account_id))
            if account_id not in self.config.accounts and account_id not in self.network_overrides:
                self._outside.append(account_id)
                if len(self._outside) > OUTSIDE_ADAPTERS:  # supporters: thousands, each sends now and then
                    self._networks.pop(self._outside.popleft(), None)
            self._networks[account_id] = net
            return net

    def load_campaigns(self, paths: list[Path] | None = None, *, budgets: bool = True) -> LoadResult:
        """Files that did not change since the last call are not read again."""
        from bot.campaigns.validate import load_campaigns

        return load_campaigns(self.config, self.clock.now(), paths, cache=self._load_cache, budgets=budgets)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def bootstrap(
    config: Config,
    *,
    clock: Clock | None = None,
    networks: Mapping[str, Network] | None = None,
    engine: Engine | None = None,
    migrate: bool = True,
    accounts: AccountDirectory | None = None,
) -> App:
    """Wire the app. The account directory reads every account's secrets now: see ``app.accounts.problems``."""
    from bot.supporters.accounts import lookup as supporter_lookup
    from bot.supporters.accounts import reach_of

    engine = engine or make_engine(config.bot.database_url, config.bot.concurrency)
    if migrate:
        ensure_schema(engine)
    sessions = make_sessionmaker(engine)
    return App(
        config=config,
        engine=engine,
        sessions=sessions,
        clock=clock or SystemClock(),
        owner=worker_name(),
        accounts=accounts or AccountDirectory(
            config, lookup=supporter_lookup(sessions, reach_of(config.amplify.local_servers))),
        network_overrides=dict(networks or {}),
    )
