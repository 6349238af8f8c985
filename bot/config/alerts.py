"""The `[[alerts]]` destinations and `[alerts_settings]` of config.toml.

A destination is an Apprise URL (``url``), or the name of an environment variable holding one with credentials
(``url_env``; ``NAME_FILE`` works too, as for accounts). Errors are one line that names the field and never
quotes a value read from the environment.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.errors import ConfigError


class Event(StrEnum):
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_UNKNOWN = "delivery_unknown"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_MISCONFIGURED = "account_misconfigured"
    WORKER_DOWN = "worker_down"
    TARGET_RESPONDED = "target_responded"
    DEADLINE_NEAR = "deadline_near"
    DEADLINE_PASSED = "deadline_passed"
    EMERGENCY_STOP = "emergency_stop"
    CAMPAIGN_CLOSED = "campaign_closed"


ALL_EVENTS = frozenset(Event)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
WORKER_DOWN_MIN = timedelta(seconds=5)
"""A worker beats every 2 s (bot/outbox/workers.py): less than this would call a live worker dead."""


@dataclass(frozen=True)
class Destination:
    """One `[[alerts]]` table. ``url`` may hold credentials: never print it; show ``label``."""

    key: str
    """Stable name of the destination in the queue table and in reports: `name`, `$url_env` or the URL's host."""
    url: str = field(repr=False)
    events: frozenset[Event]
    label: str

    def wants(self, event: str) -> bool:
        return event in self.events


@dataclass(frozen=True)
class AlertSettings:
    worker_down_after: timedelta = timedelta(minutes=2)
    base_url: str | None = None
    interval_seconds: float = 15.0

    @property
    def missing_address(self) -> str | None:
        """The one warning line when alerts cannot link to the web app, else None."""
        if self.base_url:
            return None
        return ("alerts will carry no link to the web app: set [alerts_settings] base_url (or [amplify] public_url) "
                "to its address, like https://bot.example.org")


def parse_duration(value: Any, where: str) -> timedelta:
    """`90` or `"90s"`, `"2m"`, `"1h"`, `"1d"`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigError(f"{where}: use a duration like \"90s\", \"2m\" or \"1h\"")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ConfigError(f"{where}: must be more than zero")
    return timedelta(seconds=seconds)


def _read_env_url(name: str, where: str) -> str:
    value = os.environ.get(name, "").strip()
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read ${name}_FILE: {exc.strerror}") from None
        if value:
            return value
        raise ConfigError(f"{where}: the file named by ${name}_FILE is empty")
    raise ConfigError(f"{where}: the environment variable ${name} (or ${name}_FILE) is not set")


def short_label(url: str) -> str:
    """The scheme and host of a URL: enough to recognise it, nothing after (paths and queries carry tokens)."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1].split("?", 1)[0]
    return f"{scheme}://{host}" if host else f"{scheme}://"


def load_apprise() -> ModuleType:
    """Apprise, imported only when alerts are configured, with its log kept to itself: its lines can quote a
    credential URL's user and the ends of its password. We report failures through its LogCapture, scrubbed
    (bot/alerts/transport.py)."""
    logging.getLogger("apprise").propagate = False  # before the import: it logs while importing
    import apprise

    return apprise


def _check_apprise(url: str, where: str, quote: bool) -> None:
    if load_apprise().Apprise.instantiate(url) is None:
        shown = f" ({short_label(url)})" if quote else ""
        raise ConfigError(f"{where}: not a URL Apprise can send to{shown}; see the Apprise wiki for the URL forms")


def parse_destinations(raw: Any, where: str) -> list[Destination]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: alerts: write each destination as an [[alerts]] table")
    out: list[Destination] = []
    for i, table in enumerate(raw, start=1):
        at = f"{where}: alerts[{i}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{at}: must be a table")
        unknown = set(table) - {"url", "url_env", "events", "name"}
        if unknown:
            raise ConfigError(f"{at}: unknown key(s) {', '.join(sorted(unknown))} (known: url, url_env, events, name)")
        if ("url" in table) == ("url_env" in table):
            raise ConfigError(f"{at}: give exactly one of url or url_env")
        if "url" in table:
            url = str(table["url"]).strip()
            _check_apprise(url, f"{at}.url", quote=True)
            key = str(table.get("name") or short_label(url))
        else:
            env = str(table["url_env"])
            url = _read_env_url(env, f"{at}.url_env")
            _check_apprise(url, f"{at}.url_env (the URL in ${env})", quote=False)
            key = str(table.get("name") or f"${env}")
        events = table.get("events", sorted(ALL_EVENTS))
        if not isinstance(events, list) or not events:
            raise ConfigError(f"{at}.events: a list of event names (leave it out for all)")
        bad = [str(e) for e in events if e not in ALL_EVENTS]
        if bad:
            raise ConfigError(f"{at}.events: unknown event {bad[0]!r} (known: {', '.join(sorted(ALL_EVENTS))})")
        if any(d.key == key for d in out):
            raise ConfigError(f"{at}: a second destination called {key!r}: give each a distinct name = \"...\"")
        out.append(Destination(key=key, url=url, events=frozenset(Event(e) for e in events), label=key))
    return out


def parse_settings(raw: Any, where: str) -> AlertSettings:
    if raw is None:
        return AlertSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: alerts_settings: must be a table")
    unknown = set(raw) - {"worker_down_after", "base_url", "interval_seconds"}
    if unknown:
        raise ConfigError(f"{where}: alerts_settings: unknown key(s) {', '.join(sorted(unknown))} "
                          "(known: worker_down_after, base_url, interval_seconds)")
    defaults = AlertSettings()
    base_url = raw.get("base_url")
    if base_url is not None and not re.match(r"^https?://[^/\s]+", str(base_url)):
        raise ConfigError(f"{where}: alerts_settings.base_url: the web app's address, like https://bot.example.org")
    interval = raw.get("interval_seconds", defaults.interval_seconds)
    down_after = parse_duration(raw.get("worker_down_after", "2m"), f"{where}: alerts_settings.worker_down_after")
    if down_after < WORKER_DOWN_MIN:
        raise ConfigError(f"{where}: alerts_settings.worker_down_after: at least 5s (a worker beats every 2 s)")
    return AlertSettings(
        worker_down_after=down_after,
        base_url=str(base_url).rstrip("/") if base_url else None,
        interval_seconds=parse_duration(interval, f"{where}: alerts_settings.interval_seconds").total_seconds(),
    )
