"""Whether a worker is alive, for /healthz, the dashboard and `status`.

The daemon beats in the workers table (bot/outbox/workers.py: the same heartbeat frees a dead worker's
claims); this module only reads it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.queries.deps import Reads
from bot.store.models import WorkerRow

FRESH_SECONDS = 30
"""A heartbeat older than this means the worker is gone (or stuck)."""

__all__ = ["FRESH_SECONDS", "heartbeat_age", "last_heartbeat", "worker_alive"]


def last_heartbeat(app: Reads) -> datetime | None:
    with app.sessions() as session:
        return session.scalar(select(func.max(WorkerRow.heartbeat_at)))


def heartbeat_age(app: Reads) -> int | None:
    """Seconds since the last heartbeat of any worker on this database (None: no worker ever ran)."""
    last = last_heartbeat(app)
    return None if last is None else max(int((app.clock.now() - last).total_seconds()), 0)


def worker_alive(app: Reads) -> tuple[bool, str]:
    """Whether a worker beat recently, and a sentence saying so."""
    last = last_heartbeat(app)
    if last is None:
        return False, "no worker is running on this database (start one: campaign-bot run)"
    age = (app.clock.now() - last).total_seconds()
    if age > FRESH_SECONDS:
        return False, f"the worker's last heartbeat was {int(age)} s ago (is `campaign-bot run` running?)"
    return True, f"a worker is alive (heartbeat {max(int(age), 0)} s ago)"
