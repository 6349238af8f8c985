"""The durable alert queue: each alert once, then one send per destination that wants it, retried with backoff.

Sends are claimed with a conditional UPDATE (exactly one row must change), marked `sending` with a lease before
the service is called and settled after, as the outbox does for posts: a process that dies mid-send leaves a
lease that expires, and the send is tried again (an alert twice is better than none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.alerts.detect import Alert
from bot.alerts.models import ALERTS, FAILED, PENDING, SENDING, SENDS, SENT
from bot.config.alerts import Destination

LEASE = timedelta(minutes=2)
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 30
"""About a day of tries (30 s doubling to an hour, then hourly); then the send is `failed`, the destination reported."""
A, S = ALERTS.c, SENDS.c


def enqueue(conn: Connection, alerts: Iterable[Alert], destinations: Sequence[Destination], now: datetime) -> int:
    """Record the alerts not seen before and queue a send for each destination that wants them. Returns how many
    alerts were new. Another process may record the same alert at the same time: the unique key settles it."""
    alerts = list(alerts)
    if not alerts:
        return 0
    seen = {(e, sub) for e, sub in conn.execute(
        select(A.event, A.subject).where(A.subject.in_(sorted({a.subject for a in alerts}))))}
    new = 0
    for alert in alerts:
        if (alert.event, alert.subject) in seen:
            continue
        seen.add((alert.event, alert.subject))
        try:
            with conn.begin_nested():
                alert_id = conn.execute(insert(ALERTS).values(
                    event=alert.event.value, subject=alert.subject, campaign_id=alert.campaign_id,
                    account_id=alert.account_id, message=alert.message, link=alert.link, created_at=now,
                ).returning(A.id)).scalar_one()
                sends = [dict(alert_id=alert_id, destination=d.key, status=PENDING, attempts=0, next_attempt_at=now,
                              created_at=now) for d in destinations if d.wants(alert.event)]
                if sends:
                    conn.execute(insert(SENDS), sends)
        except IntegrityError:
            continue  # recorded by another process just now
        new += 1
    return new


@dataclass(frozen=True)
class Claimed:
    send_id: int
    destination: str
    attempts: int
    event: str
    message: str
    link: str | None
    campaign_id: str | None
    account_id: str | None


def claim(conn: Connection, destinations: Iterable[str], now: datetime, limit: int = 20) -> list[Claimed]:
    """Due sends for the destinations this process knows, each marked `sending` by exactly one process."""
    keys = sorted(set(destinations))
    if not keys:
        return []
    due = or_(and_(S.status == PENDING, S.next_attempt_at <= now), and_(S.status == SENDING, S.lease_until < now))
    rows = conn.execute(select(S.id, S.status, S.destination, S.attempts, A.event, A.message, A.link, A.campaign_id,
                               A.account_id).join(ALERTS, A.id == S.alert_id)
                        .where(due, S.destination.in_(keys)).order_by(S.next_attempt_at, S.id).limit(limit)).all()
    claimed = []
    for r in rows:
        res = conn.execute(update(SENDS).where(S.id == r.id, S.status == r.status, S.attempts == r.attempts)
                           .values(status=SENDING, lease_until=now + LEASE, attempts=r.attempts + 1,
                                   last_attempt_at=now))
        if res.rowcount == 1:
            claimed.append(Claimed(r.id, r.destination, r.attempts + 1, r.event, r.message, r.link, r.campaign_id,
                                   r.account_id))
    return claimed


def settle(conn: Connection, send: Claimed, now: datetime, error: str | None = None, permanent: bool = False) -> None:
    """Record the outcome of a claimed send: sent, retried later with backoff, or failed for good."""
    if error is None:
        values: dict[str, Any] = dict(status=SENT, sent_at=now, lease_until=None, last_error=None)
    elif permanent or send.attempts >= MAX_ATTEMPTS:
        values = dict(status=FAILED, lease_until=None, last_error=error)
    else:
        delay = min(RETRY_BASE * 2 ** (send.attempts - 1), RETRY_MAX)
        values = dict(status=PENDING, next_attempt_at=now + delay, lease_until=None, last_error=error)
    conn.execute(update(SENDS).where(S.id == send.send_id, S.status == SENDING, S.attempts == send.attempts)
                 .values(**values))
