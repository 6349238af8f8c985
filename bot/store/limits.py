"""Counters that slow down guessing and flooding, shared by every web process (they live in the database).

- ``claim``/``failed``/``succeeded``: sign-in attempts per key back off instead of locking: the first ``free``
  failures cost nothing, then each one doubles the wait (1 s, 2 s, 4 s... at most ``cap``). A claim is one
  conditional UPSERT that also holds the key while the password is checked, so concurrent attempts with one
  key are checked one at a time and never past the limit.
- ``take``: at most ``limit`` attempts per key in a window (connecting a supporter's account: each attempt makes
  requests to another server).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, literal
from sqlalchemy.orm import Session

from bot.store.access import RateLimitRow

HOLD = timedelta(seconds=10)
"""How long a claim holds its key: released by the outcome, or by itself if the request died meanwhile."""
FORGET = timedelta(days=1)
"""Failures older than this are forgotten."""


def _insert(session: Session) -> Callable[..., Any]:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def claim(session: Session, key: str, now: datetime) -> bool:
    """Take the key's turn if it is free now (not backing off, nobody else checking): one statement."""
    table = RateLimitRow.__table__
    stmt = _insert(session)(table).values(key=key, count=0, window_start=now, next_allowed_at=now + HOLD)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={"next_allowed_at": now + HOLD},
                                      where=table.c.next_allowed_at <= now).returning(table.c.key)
    return session.execute(stmt).first() is not None


def wait(session: Session, key: str, now: datetime) -> timedelta:
    """How long until the key's next turn."""
    row = session.get(RateLimitRow, key)
    return max(row.next_allowed_at - now, timedelta(0)) if row is not None else timedelta(0)


def failed(session: Session, key: str, now: datetime, *, free: int, cap: timedelta,
           base: timedelta = timedelta(seconds=1)) -> timedelta:
    """Count a failure; returns the wait before the next attempt."""
    row = session.get(RateLimitRow, key, with_for_update=True)
    if row is None:
        row = RateLimitRow(key=key, count=0, window_start=now, next_allowed_at=now)
        session.add(row)
    if now - row.window_start > FORGET:
        row.count, row.window_start = 0, now
    row.count += 1
    delay = timedelta(0) if row.count < free else min(base * 2 ** (row.count - free), cap)
    row.next_allowed_at = now + delay
    return delay


def succeeded(session: Session, key: str, now: datetime) -> None:
    row = session.get(RateLimitRow, key, with_for_update=True)
    if row is not None:
        session.delete(row)


def release(session: Session, key: str, now: datetime) -> None:
    """Give back a claimed turn without counting anything (the attempt never got to the password)."""
    row = session.get(RateLimitRow, key, with_for_update=True)
    if row is not None and row.next_allowed_at > now:
        row.next_allowed_at = now


def take(session: Session, key: str, now: datetime, *, limit: int, window: timedelta) -> bool:
    """Count one attempt in the key's current window; False when it is over ``limit`` (one statement)."""
    table = RateLimitRow.__table__
    fresh = table.c.window_start <= now - window
    stmt = _insert(session)(table).values(key=key, count=1, window_start=now, next_allowed_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
        "count": case((fresh, literal(1)), else_=table.c.count + 1),
        "window_start": case((fresh, literal(now, RateLimitRow.window_start.type)), else_=table.c.window_start),
    }).returning(table.c.count)
    count = session.execute(stmt).scalar_one()
    return bool(count <= limit)


def purge(session: Session, now: datetime) -> None:
    """Forget counters nobody needs any more."""
    session.query(RateLimitRow).filter(RateLimitRow.window_start < now - FORGET,
                                       RateLimitRow.next_allowed_at < now).delete(synchronize_session=False)
