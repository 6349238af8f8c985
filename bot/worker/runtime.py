"""What the worker needs of the application: bootstrap's App has it all (the worker never imports it: the
CLI's `run` builds the App and hands it over)."""

from __future__ import annotations

from typing import Protocol

from bot.accounts.directory import AccountDirectory
from bot.networks.base import NetworkLookup
from bot.worker.plan import PlanDeps


class Runtime(PlanDeps, NetworkLookup, Protocol):
    @property
    def owner(self) -> str:
        """This worker's name in the workers table and on the leases it takes."""
        ...

    @property
    def accounts(self) -> AccountDirectory: ...

    def post_key(self, delivery_id: int) -> str:
        """The idempotency key of every attempt of a delivery."""
        ...
