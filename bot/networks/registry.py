"""Network kind -> adapter class. Adapters are imported only when used, so console needs no client library."""

from __future__ import annotations

import importlib
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.networks.settings import AccountSettings

if TYPE_CHECKING:
    from bot.networks.base import Network

ADAPTERS: dict[str, str] = {
    "console": "bot.networks.console.adapter:ConsoleNetwork",
    "mastodon": "bot.networks.mastodon.adapter:MastodonNetwork",
    "x": "bot.networks.x.adapter:XNetwork",
    "bluesky": "bot.networks.bluesky.adapter:BlueskyNetwork",
    "threads": "bot.networks.threads.adapter:ThreadsNetwork",
    "telegram": "bot.networks.telegram.adapter:TelegramNetwork",
    "facebook": "bot.networks.facebook.adapter:FacebookNetwork",
}


@lru_cache(maxsize=8192)
def measure(kind: str, text: str) -> int:
    """``text``'s length as ``kind`` counts it by default (``Network.measure``), once per distinct text and
    network in a process: validation measures every text it renders, and the planner stores the same texts'
    lengths on their rows (bot/planning/)."""
    return network_class(kind).measure(text)


def measured(kind: str, text: str) -> int | None:
    """``measure``, or None for a network this version does not know (nothing to store)."""
    return measure(kind, text) if kind in ADAPTERS else None


def network_class(kind: str) -> type[Network]:
    try:
        target = ADAPTERS[kind]
    except KeyError:
        raise KeyError(f"unknown network {kind!r} (known: {', '.join(sorted(ADAPTERS))})") from None
    cls = _CLASSES.get(target)
    if cls is None:
        module_name, _, attr = target.partition(":")
        cls = _CLASSES[target] = getattr(importlib.import_module(module_name), attr)
    return cls


_CLASSES: dict[str, type[Network]] = {}
"""Each adapter class by its "module:Class" (validation asks for one per message, language and account)."""


class Capability(StrEnum):
    """What an adapter can do besides posting, as it declares it (bot/networks/base.py Booster,
    bot/networks/reading.py Reader)."""

    BOOST = "boost"
    READ = "read"


DECLARED: dict[str, frozenset[Capability]] = {
    "console": frozenset(),
    "mastodon": frozenset({Capability.BOOST, Capability.READ}),
    "x": frozenset({Capability.READ}),
    "bluesky": frozenset({Capability.BOOST, Capability.READ}),
    "threads": frozenset({Capability.READ}),
    "telegram": frozenset(),
    "facebook": frozenset({Capability.READ}),
}
"""What each built-in adapter class declares (tests/test_restart_path.py checks it against the classes), so that
listing the networks that can boost, as the supporters' service does when it is imported, imports no adapter:
that cost `campaign-bot run` about 8 % of its CPU before its first post. An adapter registered in place of a
built-in one is asked (``capabilities``)."""
_BUILT_IN = dict(ADAPTERS)


def capabilities(kind: str) -> frozenset[Capability]:
    if kind in DECLARED and ADAPTERS.get(kind) == _BUILT_IN[kind]:
        return DECLARED[kind]
    return found_capabilities(kind)


def found_capabilities(kind: str) -> frozenset[Capability]:
    """What the adapter class of ``kind`` can do, from the class itself (imports its module)."""
    from bot.networks.base import Booster
    from bot.networks.reading import Reader

    cls = network_class(kind)
    found = {Capability.BOOST} if issubclass(cls, Booster) else set()
    if issubclass(cls, Reader):
        found.add(Capability.READ)
    return frozenset(found)


def kinds_that(capability: Capability) -> tuple[str, ...]:
    """The networks whose adapters can do this (the console is never one)."""
    return tuple(k for k in ADAPTERS if k != "console" and capability in capabilities(k))


def account_settings_model(kind: str) -> type[AccountSettings]:
    return network_class(kind).settings_model


def register(kind: str, target: str) -> None:
    """Add an adapter (``module:Class``); used by plug-ins and by tests for their fake network."""
    ADAPTERS[kind] = target
