"""Live workers and what a dead one held.

A worker (the daemon) registers itself and beats every few seconds. One that stopped beating for
`DEAD_AFTER` is dead: its deliveries in `sending` are orphans at once, without waiting for their leases.
Leases stay as the backstop for code that claims without a heartbeat (tests, one-off runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, or_, select, update

from bot.outbox.tables import CAMPAIGNS, DELIVERIES, WORKERS
from bot.states import CampaignState, ErrorKind, Kind, Status

HEARTBEAT_SECONDS = 2.0
DEAD_AFTER = timedelta(seconds=10)
D, W = DELIVERIES.c, WORKERS.c


def beat(conn: Connection, owner: str, now: datetime) -> None:
    """Register or renew; a worker presumed dead after a long outage comes back by beating again."""
    res = conn.execute(update(WORKERS).where(W.owner == owner).values(heartbeat_at=now))
    if not res.rowcount:
        conn.execute(insert(WORKERS).values(owner=owner, started_at=now, heartbeat_at=now))


def leave(conn: Connection, owner: str) -> None:
    """A clean stop: nothing of ours is in flight any more."""
    conn.execute(delete(WORKERS).where(W.owner == owner))


def orphans(conn: Connection, now: datetime) -> Sequence[Any]:
    """Deliveries in `sending` whose lease expired or whose worker stopped beating."""
    dead = select(W.owner).where(W.heartbeat_at < now - DEAD_AFTER)
    return conn.execute(
        select(D.id, D.account_id, D.campaign_id, D.kind, D.text, D.language, D.due_at, D.lease_owner,
               CAMPAIGNS.c.state.label("campaign_state"))
        .join(CAMPAIGNS, CAMPAIGNS.c.id == D.campaign_id)
        .where(D.status == Status.SENDING, or_(D.lease_expires_at < now, D.lease_owner.in_(dead)))
        .order_by(D.id)
    ).all()


def free(conn: Connection, row: Any, now: datetime, status: Status, error: str,
         error_kind: ErrorKind) -> bool:
    """Settle one orphan, if nobody else did meanwhile. Never back to `planned` in a closed campaign."""
    if status == Status.PLANNED and row.campaign_state == CampaignState.CLOSED and row.kind != Kind.CLOSING:
        raise ValueError(f"delivery {row.id}: a call to action of a closed campaign is never planned again")
    values: dict[str, Any] = dict(status=status, error=error, error_kind=error_kind, updated_at=now)
    if status == Status.PLANNED:
        values.update(lease_owner=None, lease_expires_at=None)
    res = conn.execute(update(DELIVERIES)
                       .where(D.id == row.id, D.status == Status.SENDING, D.lease_owner == row.lease_owner)
                       .values(**values))
    return res.rowcount == 1


def forget_dead(conn: Connection, now: datetime) -> int:
    """Dead workers that hold nothing any more."""
    holds = exists(select(D.id).where(D.lease_owner == W.owner, D.status == Status.SENDING))
    res = conn.execute(delete(WORKERS).where(W.heartbeat_at < now - DEAD_AFTER, ~holds))
    return res.rowcount or 0
