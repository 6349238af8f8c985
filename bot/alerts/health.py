"""Which alert destinations are failing, for `campaign-bot status` and the dashboard (reads only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from bot.alerts.models import FAILED, PENDING, SENDS, SENT

FAILING_AFTER = 3
"""A destination whose last attempts failed this many times in a row is reported in `status` and on the dashboard."""
S = SENDS.c


def failing_destinations(conn: Connection, configured: Iterable[str]) -> list[dict[str, Any]]:
    """Destinations whose latest attempts failed FAILING_AFTER times or for good, since their last success."""
    last_sent = dict(conn.execute(select(S.destination, S.sent_at).where(S.status == SENT)
                                  .order_by(S.sent_at)).all())
    failing: dict[str, dict[str, Any]] = {}
    rows = conn.execute(select(S.destination, S.status, S.attempts, S.last_error, S.last_attempt_at)
                        .where(S.status.in_([PENDING, FAILED]), S.last_error.is_not(None))
                        .order_by(S.last_attempt_at))
    for r in rows:
        ok_at = last_sent.get(r.destination)
        if ok_at is not None and r.last_attempt_at is not None and ok_at >= r.last_attempt_at:
            continue
        if r.status == FAILED or r.attempts >= FAILING_AFTER:
            entry = failing.setdefault(r.destination, {"destination": r.destination, "waiting": 0, "failed": 0})
            entry["failed" if r.status == FAILED else "waiting"] += 1
            entry.update(error=r.last_error, last_attempt_at=r.last_attempt_at.isoformat(timespec="seconds")
                         if r.last_attempt_at else None)
    keys = set(configured)
    return [entry for key, entry in failing.items() if key in keys]
