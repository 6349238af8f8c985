"""The one place that wires the application: config -> store -> networks -> clock.

The CLI, the daemon and the tests all call bootstrap(); tests pass a FakeClock and fake networks.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.accounts import AccountView, resolve_account
from bot.campaigns.loader import LoadResult
from bot.campaigns.validate import LoadCache, load_campaigns
from bot.clock import Clock, SystemClock
from bot.config import AccountSettings, Config
from bot.networks.base import Network
from bot.networks.console import ConsoleNetwork
from bot.networks.registry import network_class
from bot.store.db import ensure_schema, make_engine, make_sessionmaker

log = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    owner: str
    network_overrides: Mapping[str, Network] = field(default_factory=dict)
    _networks: dict[str, Network] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _load_cache: LoadCache = field(default_factory=LoadCache)

    def account(self, account_id: str) -> AccountView | None:
        return resolve_account(self.config, account_id)

    def network(self, account_id: str) -> Network:
        """The adapter that posts for an account, built once and reused (sessions, caches)."""
        with self._lock:
            if account_id in self._networks:
                return self._networks[account_id]
            net: Network
            if account_id in self.network_overrides:
                net = self.network_overrides[account_id]
            else:
                settings = self.config.accounts.get(account_id)
                if settings is None or self.config.console_fallback:
                    net = ConsoleNetwork(account_id, settings or AccountSettings(network="console"), store=self)
                else:
                    net = network_class(settings.network)(account_id, settings, store=self)
            self._networks[account_id] = net
            return net

    def load_campaigns(self, paths: list[Path] | None = None, *, budgets: bool = True) -> LoadResult:
        """Files that did not change since the last call are not read again."""
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
) -> App:
    engine = engine or make_engine(config.bot.database_url, config.bot.concurrency)
    if migrate:
        ensure_schema(engine)
    return App(
        config=config,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
        owner=worker_name(),
        network_overrides=dict(networks or {}),
    )
