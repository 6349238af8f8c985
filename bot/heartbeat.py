"""The worker's heartbeat: a row per worker process, refreshed every few seconds by the daemon.

The web process reads it for /healthz and the dashboard's "worker alive" line; nothing else depends on it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import String, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, UTCDateTime

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 5
FRESH_SECONDS = 30
"""A heartbeat older than this means the worker is gone (or stuck)."""


class WorkerRow(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


def beat(app: App) -> None:
    """Record that this worker (app.owner) is alive; rows of workers silent for a day are removed."""
    now = app.clock.now()
    try:
        with app.sessions.begin() as session:
            row = session.get(WorkerRow, app.owner)
            if row is None:
                session.add(WorkerRow(id=app.owner, started_at=now, heartbeat_at=now))
            else:
                row.heartbeat_at = now
            session.execute(delete(WorkerRow).where(WorkerRow.heartbeat_at < now - timedelta(days=1)))
    except SQLAlchemyError as exc:  # the database is down: /healthz says so itself; the next beat retries
        log.warning("heartbeat: database unavailable: %s", exc)


def last_heartbeat(app: App) -> datetime | None:
    with app.sessions() as session:
        return session.scalars(select(WorkerRow.heartbeat_at).order_by(WorkerRow.heartbeat_at.desc())).first()


def worker_alive(app: App) -> tuple[bool, str]:
    """Whether a worker beat recently, and a sentence saying so."""
    last = last_heartbeat(app)
    if last is None:
        return False, "no worker has ever run on this database (start one: campaign-bot run)"
    age = (app.clock.now() - last).total_seconds()
    if age > FRESH_SECONDS:
        return False, f"the worker's last heartbeat was {int(age)} s ago (is `campaign-bot run` running?)"
    return True, f"a worker is alive (heartbeat {max(int(age), 0)} s ago)"
