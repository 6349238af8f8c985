"""Rate budgets: how much an account may post per window, so the bot defers instead of hitting limits.

Presets per network and tier; `rate_budget` in an account's config overrides them. The dispatcher counts
what the account sent in each window (the database knows) and defers the account's due posts until the
budget frees up; nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot import account_state
from bot.clock import as_utc
from bot.store.models import DeliveryRow


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
}


def budget_for(settings: object) -> tuple[BudgetWindow, ...]:
    override = getattr(settings, "rate_budget", None)
    if override is not None:
        return tuple(override)
    network = getattr(settings, "network", "console")
    tier = getattr(settings, "tier", None)
    return PRESETS.get((network, tier)) or PRESETS.get((network, None)) or ()


def remaining(session: Session, account_id: str, windows: tuple[BudgetWindow, ...],
              now: datetime) -> tuple[int | None, datetime | None]:
    """(posts the account may still send now, None when it has no budget; when it may post again, None when
    it may post now), counted from what the database says it sent (or may have sent) in each window."""
    allowance: int | None = None
    hold: datetime | None = None
    for window in windows:
        since = now - timedelta(seconds=window.per_seconds)
        in_window = and_(DeliveryRow.account_id == account_id, DeliveryRow.status.in_(("sent", "unknown")),
                         DeliveryRow.sent_at >= since)
        used = session.scalar(select(func.count()).select_from(DeliveryRow).where(in_window)) or 0
        left = window.posts - used
        allowance = left if allowance is None else min(allowance, left)
        if left > 0:
            continue
        oldest = session.scalar(select(DeliveryRow.sent_at).where(in_window).order_by(DeliveryRow.sent_at)
                                .offset(used - window.posts).limit(1))
        free_at = as_utc(oldest) + timedelta(seconds=window.per_seconds) if oldest else now
        hold = max(hold or free_at, free_at)
    return allowance, hold


def defer(session: Session, account_id: str, now: datetime, until: datetime) -> None:
    """Over budget: the account's due posts wait (never dropped, never counted as missed)."""
    session.execute(update(DeliveryRow)
                    .where(DeliveryRow.account_id == account_id, DeliveryRow.status == "planned",
                           DeliveryRow.due_at <= until,
                           or_(DeliveryRow.not_before.is_(None), DeliveryRow.not_before < until))
                    .values(not_before=until, error_kind="budget", updated_at=now,
                            error=f"deferred until {until.isoformat(timespec='seconds')}: the account's rate "
                                  "budget is spent")
                    .execution_options(synchronize_session=False))
    account_state.update_in(session, account_id, now, rate_limited_until=until)


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
