"""The settings every account has, whatever stores it (config.toml today, the database next).

Each network adds its own keys in a subclass (bot/networks/<kind>.py). Secrets are never settings: a
setting ending in ``_env`` names where the secret is (see bot/networks/secrets.py).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.networks.budgets import BudgetWindow


class AccountSettings(BaseModel):
    """Keys every account has; each network adds its own (see bot/networks/<kind>.py)."""

    model_config = ConfigDict(extra="forbid")

    network: str
    languages: list[str] | None = None
    rate_budget: list[BudgetWindow] | None = None
    """Overrides the network's preset budget, e.g. [{ limit = 50, per_seconds = 3600 }]."""

    def secret_names(self) -> list[str]:
        """The names of the secrets this account needs (the values of its ``*_env`` settings)."""
        names = []
        for key in type(self).model_fields:
            value = getattr(self, key)
            if key.endswith("_env") and isinstance(value, str) and value:
                names.append(value)
        return names


class Reach(StrEnum):
    """Which addresses outgoing calls to a named server may reach (bot/networks/outbound.py enforces it)."""

    PUBLIC = "public"
    LOCAL = "public_and_loopback"
    """Development and tests: also this machine (127.0.0.1, ::1)."""
