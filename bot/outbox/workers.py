"""Live workers, what a dead one held, and the posts whose outcome is in doubt until the account is read back.

A worker (the daemon) registers itself and beats every few seconds. One that stopped beating for `DEAD_AFTER`
is dead: its deliveries in `sending` are orphans at once, without waiting for their leases. A live worker's
send is never taken from it, however long the network takes: liveness is the heartbeat, not the lease. Leases
stay as the backstop for code that claims without a heartbeat (tests, one-off runs).

An orphan, and a post a close found in doubt, is flagged `unknown` with its read-back due (``not_before``):
the worker reads the account (bot/worker/recovery.py) and settles it here: sent, not sent, sent again where
that is safe, or left to a person. While a read-back is pending, ``updated_at`` keeps the time it was flagged
(a retry moves only ``not_before``), so the worker knows when to give up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, or_, select, update

from bot.networks.base import ThreadRef
from bot.outbox.tables import (
    CAMPAIGNS,
    DELIVERIES,
    WORKERS,
    being_read_back,
    of_the_last_close_row,
    outlives_close_row,
)
from bot.states import Action, CampaignState, ErrorKind, Kind, Status
from bot.store.models import UTCDateTime
from bot.store.raw import Raw

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


_ANYTHING_TO_RECOVER = Raw(select(or_(
    exists(select(W.owner).where(W.heartbeat_at < bindparam("b_dead_before", type_=UTCDateTime()))),
    exists(select(D.id).where(D.status == Status.SENDING,
                              D.lease_expires_at < bindparam("b_now", type_=UTCDateTime())))).label("any")))


def anything_to_recover(conn: Connection, now: datetime) -> bool:
    """Whether recovery could find anything: a worker that stopped beating, or a lease run out. One statement
    on an index, run raw every few seconds by each worker: recovery costs its queries only when it has work."""
    _, row = _ANYTHING_TO_RECOVER.execute(conn, {"b_dead_before": now - DEAD_AFTER, "b_now": now})
    return bool(row.any)


def orphans(conn: Connection, now: datetime) -> Sequence[Any]:
    """Deliveries in `sending` whose worker stopped beating, or, claimed by code that does not beat, whose lease
    expired."""
    dead = select(W.owner).where(W.heartbeat_at < now - DEAD_AFTER)
    alive = select(W.owner).where(W.heartbeat_at >= now - DEAD_AFTER)
    return conn.execute(
        select(D.id, D.account_id, D.campaign_id, D.kind, D.action, D.text, D.language, D.due_at, D.lease_owner,
               CAMPAIGNS.c.state.label("campaign_state"))
        .join(CAMPAIGNS, CAMPAIGNS.c.id == D.campaign_id)
        .where(D.status == Status.SENDING,
               or_(D.lease_owner.in_(dead), and_(D.lease_expires_at < now, ~D.lease_owner.in_(alive))))
        .order_by(D.id)
    ).all()


def take_over(conn: Connection, row: Any, now: datetime, why: str) -> bool:
    """An orphan becomes `unknown` with its read-back due now, if nobody settled it meanwhile."""
    res = conn.execute(update(DELIVERIES)
                       .where(D.id == row.id, D.status == Status.SENDING, D.lease_owner == row.lease_owner)
                       .values(status=Status.UNKNOWN, error=why, error_kind=ErrorKind.OUTCOME_UNKNOWN,
                               not_before=now, lease_expires_at=None, updated_at=now))
    return res.rowcount == 1


def forget_dead(conn: Connection, now: datetime) -> int:
    """Dead workers that hold nothing any more."""
    holds = exists(select(D.id).where(D.lease_owner == W.owner, D.status == Status.SENDING))
    res = conn.execute(delete(WORKERS).where(W.heartbeat_at < now - DEAD_AFTER, ~holds))
    return res.rowcount or 0


# -- in doubt: read back ------------------------------------------------------------------------------------


def flag_in_doubt(conn: Connection, campaign_id: str | None, now: datetime, why: str, *,
                  closings: bool | None = False, ids: Iterable[int] | None = None,
                  cancel_asked_by: str | None = None) -> int:
    """A close (calls to action), a reopen (``closings``), a schedule edit (``ids``), a pause or the emergency
    stop (every campaign: ``campaign_id`` None; every kind: ``closings`` None), a person's cancel
    (``cancel_asked_by``: cancelled if it is not there): planned posts that an earlier attempt may have published
    are read back before anything is decided about them: never cancelled, changed or sent again blindly while
    they may be public, nor left unsettled while nothing may be sent."""
    stmt = update(DELIVERIES).where(D.status == Status.PLANNED, D.error_kind == ErrorKind.IN_DOUBT)
    if campaign_id is not None:
        stmt = stmt.where(D.campaign_id == campaign_id)
    if closings is not None:
        stmt = stmt.where(D.kind == Kind.CLOSING if closings else D.kind != Kind.CLOSING)
    if ids is not None:
        stmt = stmt.where(D.id.in_(list(ids)))
    values: dict[str, Any] = {"cancel_asked_by": cancel_asked_by} if cancel_asked_by else {}
    res = conn.execute(stmt.values(status=Status.UNKNOWN, error=why, error_kind=ErrorKind.OUTCOME_UNKNOWN,
                                   not_before=now, updated_at=now, **values))
    return res.rowcount or 0


def to_read(conn: Connection, account_id: str, now: datetime, limit: int) -> Sequence[Any]:
    """The account's posts whose read-back is due, oldest first, with what settling them needs."""
    return conn.execute(
        select(D.id, D.account_id, D.campaign_id, D.kind, D.action, D.text, D.language, D.due_at, D.attempts,
               D.updated_at, D.error, D.reply_in_thread, D.plan_key, D.cancel_asked_by,
               CAMPAIGNS.c.state.label("campaign_state"),
               CAMPAIGNS.c.close_seq)
        .join(CAMPAIGNS, CAMPAIGNS.c.id == D.campaign_id)
        .where(D.account_id == account_id, being_read_back(), D.not_before <= now)
        .order_by(D.not_before, D.id).limit(limit)
    ).all()


def taken(conn: Connection, account_id: str, since: datetime) -> set[str]:
    """The remote ids recorded for this account's posts sent since ``since``: a read-back must not take one of
    them for another post of the same text."""
    return set(conn.execute(select(D.remote_id).where(
        D.account_id == account_id, D.action == Action.POST, D.status == Status.SENT, D.remote_id.is_not(None),
        D.sent_at >= since)).scalars())


def settle_found(conn: Connection, delivery_id: int, now: datetime, remote_id: str, url: str | None,
                 ref: dict[str, Any] | None, reply: ThreadRef | None = None) -> bool:
    """Found on the account: sent, where it is (``reply``: the post it replied under, for a reply in a thread)."""
    values: dict[str, Any] = dict(status=Status.SENT, sent_at=now, remote_id=remote_id, remote_url=url,
                                  remote_ref=ref or None, error=None, error_kind=None, not_before=None,
                                  updated_at=now)
    if reply is not None:
        values.update(in_reply_to=reply.remote_id, thread_root={"id": reply.root_id, "ref": reply.root_ref})
    res = conn.execute(update(DELIVERIES).where(D.id == delivery_id, being_read_back()).values(**values))
    return res.rowcount == 1


def settle(conn: Connection, delivery_id: int, now: datetime, status: Status, error_kind: ErrorKind | None,
           error: str) -> bool:
    """Not found (cancelled as not sent, or planned to be sent again), or left to a person (``status``
    unknown: not read again)."""
    values: dict[str, Any] = dict(status=status, error=error, error_kind=error_kind, not_before=None,
                                  updated_at=now)
    if status == Status.PLANNED:
        values.update(lease_owner=None, lease_expires_at=None)
    res = conn.execute(update(DELIVERIES).where(D.id == delivery_id, being_read_back()).values(**values))
    return res.rowcount == 1


def read_later(conn: Connection, delivery_id: int, when: datetime, error: str) -> bool:
    """The account could not be read: try again at ``when`` (``updated_at`` keeps when it was flagged)."""
    res = conn.execute(update(DELIVERIES).where(D.id == delivery_id, being_read_back())
                       .values(not_before=when, error=error))
    return res.rowcount == 1


def closed_for(row: Any) -> bool:
    """Whether the row's campaign's state forbids sending it, whatever the account says: a call to action (or
    its boost) once the campaign closed (a closing message, and a supporter taking a boost back, still go); a
    closing message once the campaign was reopened, or of an earlier close (the next close brings its own:
    read back and absent, it would otherwise wait and go out beside it)."""
    if row.kind == Kind.CLOSING and row.action == Action.POST:
        return bool(row.campaign_state != CampaignState.CLOSED or not of_the_last_close_row(row))
    return bool(row.campaign_state == CampaignState.CLOSED and not outlives_close_row(row))
