"""Rate budgets: how much an account may post per window, so the bot defers instead of hitting limits.

Presets per network and tier; `rate_budget` in an account's config overrides them. This module holds the
values only; counting what an account sent in each window and deferring its due posts is the outbox's
database half (bot/outbox/budgets.py); nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class BudgetWindow(BaseModel):
    """`limit` points per `per_seconds`; each post costs `cost` points (Bluesky counts 3 per post)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: float = Field(gt=0)
    per_seconds: int = Field(gt=0)
    cost: float = Field(default=1, gt=0)

    @property
    def posts(self) -> int:
        return int(self.limit // self.cost)

    def describe(self) -> str:
        return f"{self.posts} posts per {_span(self.per_seconds)}"


PRESETS: dict[tuple[str, str | None], tuple[BudgetWindow, ...]] = {
    ("mastodon", None): (BudgetWindow(limit=300, per_seconds=3 * 3600),),
    ("x", "pay-per-use"): (BudgetWindow(limit=100, per_seconds=15 * 60),),
    ("x", "pro"): (BudgetWindow(limit=100, per_seconds=15 * 60),),
    ("x", "free"): (BudgetWindow(limit=17, per_seconds=24 * 3600),),
    ("x", "basic"): (BudgetWindow(limit=100, per_seconds=24 * 3600),),
    ("bluesky", None): (BudgetWindow(limit=5000, per_seconds=3600, cost=3),
                        BudgetWindow(limit=35000, per_seconds=24 * 3600, cost=3)),
    # Threads: 250 API-published posts per profile in a moving 24 hours (developers.facebook.com/docs/threads).
    ("threads", None): (BudgetWindow(limit=250, per_seconds=24 * 3600),),
    # Telegram: about 20 messages a minute to one group or channel (core.telegram.org/bots/faq, and
    # python-telegram-bot's FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP); a 429 says how long to wait.
    ("telegram", None): (BudgetWindow(limit=20, per_seconds=60),),
    # Facebook Pages: Graph's Page-level throttling is not a published number; 25 posts an hour keeps clear of
    # it and of the spam filters.
    ("facebook", None): (BudgetWindow(limit=25, per_seconds=3600),),
}


def budget_for(settings: object) -> tuple[BudgetWindow, ...]:
    override = getattr(settings, "rate_budget", None)
    if override is not None:
        return tuple(override)
    network = getattr(settings, "network", "console")
    tier = getattr(settings, "tier", None)
    return PRESETS.get((network, tier)) or PRESETS.get((network, None)) or ()


def busiest(times: Iterable[datetime], window: BudgetWindow) -> tuple[int, datetime | None]:
    """The most posts falling in any one window, and where that window starts."""
    ordered = sorted(times)
    span = timedelta(seconds=window.per_seconds)
    best, start, j = 0, None, 0
    for i, t in enumerate(ordered):
        while ordered[j] <= t - span:
            j += 1
        if i - j + 1 > best:
            best, start = i - j + 1, ordered[j]
    return best, start


def _span(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400 * 24} h"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"
