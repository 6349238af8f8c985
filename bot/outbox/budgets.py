"""The database half of rate budgets: what an account sent in each window, and deferring its due posts.
The values (windows, presets) are in bot/budgets.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, case, func, or_, select, update

from bot.clock import as_utc
from bot.networks.budgets import BudgetWindow
from bot.outbox.record import set_account
from bot.outbox.tables import DELIVERIES, keep_doubt, stamp
from bot.states import ErrorKind, Status
from bot.store.models import UTCDateTime
from bot.store.raw import Raw

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


@dataclass
class _Seen:
    read_at: float
    used: list[int] = field(default_factory=list)


class BudgetBook:
    """What each account used of its windows, kept in memory between ticks so a delivery costs no count.

    The database stays the truth: the counts are read again every ``refresh`` seconds, when the account's
    lock was taken afresh (another worker may have sent for it meanwhile: `forget`), and whenever the
    book thinks a window is spent (then `remaining` counts exactly and says until when). Between reads the
    book adds what this worker sent and never subtracts what aged out of a window: it can only think an
    account closer to its limit than it is, never further."""

    def __init__(self, refresh: float = 30.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.refresh = refresh
        self._monotonic = monotonic
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()

    def allowance(self, conn: Connection, account_id: str, windows: tuple[BudgetWindow, ...],
                  now: datetime) -> tuple[int | None, datetime | None]:
        """As `remaining`, from memory when the counts are fresh."""
        with self._lock:
            seen = self._seen.get(account_id)
        if seen is None or self._stale(seen, windows):
            seen = _Seen(self._monotonic(), used_in_windows(conn, account_id, windows, now))
            with self._lock:
                self._seen[account_id] = seen
        left = min(w.posts - used for w, used in zip(windows, seen.used, strict=True))
        if left > 0:
            return left, None
        self.forget(account_id)
        return remaining(conn, account_id, windows, now)

    def _stale(self, seen: _Seen, windows: tuple[BudgetWindow, ...]) -> bool:
        return self._monotonic() - seen.read_at > self.refresh or len(seen.used) != len(windows)

    def unread(self, account_id: str, windows: tuple[BudgetWindow, ...]) -> bool:
        """Whether `allowance` would count in the database (the counts are not in memory, or too old)."""
        with self._lock:
            seen = self._seen.get(account_id)
        return seen is None or self._stale(seen, windows)

    def counted(self, account_id: str, used: list[int]) -> None:
        """The account's counts, as `used_in_windows` gives them, read with something else (the due batch)."""
        with self._lock:
            self._seen[account_id] = _Seen(self._monotonic(), list(used))

    def sent(self, account_id: str) -> None:
        with self._lock:
            seen = self._seen.get(account_id)
            if seen is not None:
                seen.used = [used + 1 for used in seen.used]

    def forget(self, account_id: str | None = None) -> None:
        """Read this account's counts (or everyone's) from the database next time."""
        with self._lock:
            if account_id is None:
                self._seen.clear()
            else:
                self._seen.pop(account_id, None)


def _used_statement(windows: int) -> Raw:
    """Posts sent (or maybe sent) in each of ``windows`` windows, ``b_since_N`` the start of the N-th and
    ``b_widest`` the earliest: one statement, run raw (it runs whenever an account's lock is taken afresh)."""
    counts = [func.coalesce(func.sum(case((D.sent_at >= bindparam(f"b_since_{n}", type_=UTCDateTime()), 1),
                                          else_=0)), 0).label(f"w{n}") for n in range(windows)]
    return Raw(select(*counts).where(D.account_id == bindparam("b_account"),
                                     or_(D.status == Status.SENT, D.status == Status.UNKNOWN),
                                     D.sent_at >= bindparam("b_widest", type_=UTCDateTime())))


_USED: dict[int, Raw] = {}
"""By number of windows (an account has one to three)."""


def window_starts(windows: tuple[BudgetWindow, ...], now: datetime) -> list[datetime]:
    """When each window began, as of ``now``."""
    return [now - timedelta(seconds=w.per_seconds) for w in windows]


def used_in_windows(conn: Connection, account_id: str, windows: tuple[BudgetWindow, ...],
                    now: datetime) -> list[int]:
    """Posts the account sent (or may have sent) in each window: one statement for all windows."""
    raw = _USED.get(len(windows)) or _USED.setdefault(len(windows), _used_statement(len(windows)))
    params: dict[str, object] = {f"b_since_{n}": now - timedelta(seconds=w.per_seconds) for n, w in enumerate(windows)}
    params |= {"b_account": account_id, "b_widest": now - timedelta(seconds=max(w.per_seconds for w in windows))}
    [row] = raw.all(conn, params)
    return [int(v) for v in row]


def defer(conn: Connection, account_id: str, now: datetime, until: datetime) -> None:
    """Over budget: the account's due posts wait (never dropped, never counted as missed)."""
    conn.execute(update(DELIVERIES)
                 .where(D.account_id == account_id, D.status == Status.PLANNED, D.due_at <= until,
                        or_(D.not_before.is_(None), D.not_before < until))
                 .values(not_before=until, error_kind=keep_doubt(ErrorKind.BUDGET), updated_at=now,
                         error=f"deferred until {stamp(until)}: the account's rate budget is spent"))
    set_account(conn, account_id, now, rate_limited_until=until)
