"""What the read models need of the application (bot.bootstrap's App has it all)."""

from __future__ import annotations

from typing import Protocol

from bot.accounts.directory import AccountDirectory
from bot.config import Config
from bot.store.deps import Database

Reads = Database
"""The database and the clock."""


class ReadsConfig(Database, Protocol):
    @property
    def config(self) -> Config: ...


class ReadsAccounts(ReadsConfig, Protocol):
    @property
    def accounts(self) -> AccountDirectory: ...
