"""The database half of rate budgets: what an account sent in each window, and deferring its due posts.
The values (windows, presets) are in bot/budgets.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, or_, select, update

from bot.budgets import BudgetWindow
from bot.clock import as_utc
from bot.outbox.enums import ErrorKind, Status
from bot.outbox.record import set_account
from bot.outbox.tables import DELIVERIES, stamp

D = DELIVERIES.c


def remaining(conn: Connection, account_id: str, windows: tuple[BudgetWindow, ...],
              now: datetime) -> tuple[int | None, datetime | None]:
    """(posts the account may still send now, None when it has no budget; when it may post again, None when
    it may post now), counted from what the database says it sent (or may have sent) in each window."""
    allowance: int | None = None
    hold: datetime | None = None
    for window in windows:
        since = now - timedelta(seconds=window.per_seconds)
        in_window = and_(D.account_id == account_id, D.status.in_((Status.SENT, Status.UNKNOWN)), D.sent_at >= since)
        used = conn.scalar(select(func.count()).select_from(DELIVERIES).where(in_window)) or 0
        left = window.posts - used
        allowance = left if allowance is None else min(allowance, left)
        if left > 0:
            continue
        oldest = conn.scalar(select(D.sent_at).where(in_window).order_by(D.sent_at)
                             .offset(used - window.posts).limit(1))
        free_at = as_utc(oldest) + timedelta(seconds=window.per_seconds) if oldest else now
        hold = max(hold or free_at, free_at)
    return allowance, hold


def defer(conn: Connection, account_id: str, now: datetime, until: datetime) -> None:
    """Over budget: the account's due posts wait (never dropped, never counted as missed)."""
    conn.execute(update(DELIVERIES)
                 .where(D.account_id == account_id, D.status == Status.PLANNED, D.due_at <= until,
                        or_(D.not_before.is_(None), D.not_before < until))
                 .values(not_before=until, error_kind=ErrorKind.BUDGET, updated_at=now,
                         error=f"deferred until {stamp(until)}: the account's rate budget is spent"))
    set_account(conn, account_id, now, rate_limited_until=until)
