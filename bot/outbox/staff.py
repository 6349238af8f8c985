"""Delivery changes people make (through bot/actions/) and the planner's inserts: through here, so the outbox
stays the only code that writes delivery rows. These functions check nothing a person could get wrong: the
actions check, then call them; each says whether the row it guards changed, so an action can tell its user
that something changed meanwhile."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from bot.outbox.new import NewDelivery
from bot.outbox.tables import DELIVERIES, not_in_doubt, outlives_close
from bot.states import UNSENT, Action, ErrorKind, Kind, Status
from bot.store.raw import Raw

D = DELIVERIES.c
REVIVABLE = (ErrorKind.CLOSED, ErrorKind.UNSCHEDULED)

NOTIFY_DUE = text("SELECT pg_notify('campaign_bot_due', '')")
"""Wakes every worker's dispatch loop (bot/worker/wakeups.py) when the transaction commits; PostgreSQL only."""


def wake_workers(conn: Connection) -> None:
    """In the transaction that plans rows: workers hear of them when (and only if) it commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(NOTIFY_DUE)


_INSERT = Raw(insert(DELIVERIES).values({name: bindparam(f"b_{name}") for name in NewDelivery._fields}))
"""A first plan inserts tens of thousands of rows: on the driver's cursor (bot/store/raw.py), each distinct value
processed once, not one SQLAlchemy bind conversion per value."""


def insert_planned(conn: Connection, rows: Sequence[NewDelivery]) -> int:
    """New planned (or awaiting approval) deliveries."""
    if not rows:
        return 0
    for r in rows:
        if r.status not in UNSENT:
            raise ValueError(f"{r.plan_key}: new deliveries are planned or awaiting approval")
    _INSERT.executemany(conn, NewDelivery._fields, rows, copy_into=DELIVERIES.name)
    if any(r.status == Status.PLANNED for r in rows):
        wake_workers(conn)
    return len(rows)


def cancel_unsent(conn: Connection, campaign_id: str, now: datetime, reason: str, *,
                  closes: bool = False, only_kind: Kind | None = None,
                  error_kind: ErrorKind = ErrorKind.CLOSED, ids: Iterable[int] | None = None) -> int:
    """Cancel planned deliveries of a campaign (``closes``: what a close stops, not what outlives it: closing
    messages and supporters' take-backs). What is in flight (`sending`) is left to its worker, which records it
    sent, or, its campaign being closed, cancelled or unknown: never planned again. A row an earlier attempt
    may have published (in doubt) is never cancelled blindly: it is read back (`workers.flag_in_doubt`), and
    re-checked here since it may have become so after the caller read it."""
    stmt = update(DELIVERIES).where(D.campaign_id == campaign_id, D.status.in_(UNSENT), not_in_doubt())
    if closes:
        stmt = stmt.where(~outlives_close())
    if only_kind:
        stmt = stmt.where(D.kind == only_kind)
    if ids is not None:
        stmt = stmt.where(D.id.in_(list(ids)))
    res = conn.execute(stmt.values(status=Status.CANCELLED, error=reason, error_kind=error_kind, updated_at=now))
    return res.rowcount or 0


def update_planned(conn: Connection, changes: Sequence[dict[str, Any]], now: datetime) -> int:
    """Bring planned rows in line with an edited file; each change is ``{"id": ..., field: value, ...}``. Only
    a row still planned and not in doubt changes (history is never rewritten; a row in doubt keeps its due
    time, from which a retry's key is known to be remembered: policy.key_may_be_forgotten). One executemany
    per set of changed fields."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        fields = tuple(sorted(k for k in change if k != "id"))
        groups.setdefault(fields, []).append({"_id": change["id"], **{f: change[f] for f in fields}})
    done = 0
    for fields, params in groups.items():
        stmt = (update(DELIVERIES).where(D.id == bindparam("_id"), D.status == Status.PLANNED, not_in_doubt())
                .values(updated_at=now, **{f: bindparam(f) for f in fields}))
        done += conn.execute(stmt, params).rowcount or 0
        if "due_at" in fields or "not_before" in fields:
            wake_workers(conn)
    return done


def revive(conn: Connection, ids: Iterable[int], now: datetime) -> int:
    """Cancelled by a close or a schedule edit, and wanted again: planned once more. Only what surely was not
    sent is revivable; unknown and sent rows never are."""
    ids = list(ids)
    if not ids:
        return 0
    res = conn.execute(update(DELIVERIES)
                       .where(D.id.in_(ids), D.status == Status.CANCELLED, D.error_kind.in_(REVIVABLE))
                       .values(status=Status.PLANNED, error=None, error_kind=None, not_before=None, updated_at=now))
    if res.rowcount:
        wake_workers(conn)
    return res.rowcount or 0


def one(conn: Connection, delivery_id: int) -> Any:
    """The fields a person's change to one delivery needs, or None."""
    return conn.execute(select(D.id, D.status, D.kind, D.action, D.campaign_id, D.account_id, D.language, D.due_at,
                               D.text, D.error, D.error_kind, D.sent_at, D.remote_id, D.queued_by, D.approval_id,
                               D.plan_key)
                        .where(D.id == delivery_id)).first()


def settle(conn: Connection, delivery_id: int, was: Status, now: datetime, error: str, *,
           sent_url: str | None = None, sent_id: str | None = None, sent_at: datetime | None = None,
           resend: bool = False) -> bool:
    """A person settles an unknown, failed or missed delivery: sent (at ``sent_url``), planned again, or
    cancelled. A missed post planned again is due now (at its old time it would only be missed again); a cancel
    asked earlier, while it was in doubt, gives way to this decision."""
    values: dict[str, Any]
    if sent_url:
        values = dict(status=Status.SENT, sent_at=sent_at or now, remote_url=sent_url, remote_id=sent_id)
    elif resend:
        values = dict(status=Status.PLANNED, not_before=None, lease_owner=None, lease_expires_at=None,
                      cancel_asked_by=None)
        if was == Status.MISSED:
            values["due_at"] = now
    else:
        values = dict(status=Status.CANCELLED)
    res = conn.execute(update(DELIVERIES).where(D.id == delivery_id, D.status == was)
                       .values(error=error, error_kind=ErrorKind.RESOLVED, updated_at=now, **values))
    if res.rowcount == 1 and resend:
        wake_workers(conn)
    return res.rowcount == 1


def cancel_one(conn: Connection, delivery_id: int, now: datetime, reason: str) -> bool:
    """A person cancels one post that has not gone out. Only a row not yet sent changes: one being sent is its
    worker's, what went out is history, and one an earlier attempt may have published (in doubt) is read back,
    not cancelled blindly (re-checked here: it may have become so since the action read it)."""
    res = conn.execute(update(DELIVERIES).where(D.id == delivery_id, D.status.in_(UNSENT), not_in_doubt())
                       .values(status=Status.CANCELLED, error=reason, error_kind=ErrorKind.CANCELLED_BY_HAND,
                               updated_at=now))
    return res.rowcount == 1


def edit_unsent(conn: Connection, delivery_id: int, now: datetime, *, text: str | None = None,
                due_at: datetime | None = None, approval_id: int | None = None, text_length: int | None = None,
                length_for: str | None = None) -> bool:
    """Change a queued post's text or time while it is not sent (the organisation's own: a supporter's boost of
    it has no text of its own); ``approval_id``: it waits for that approval
    request (an edit of a post that went through approval goes back to it). A new text comes with its length
    (``text_length`` as ``length_for``'s network counts it), or with none: then it is measured when sent."""
    values: dict[str, Any] = {"updated_at": now}
    if text is not None:
        values.update(text=text, text_length=text_length if length_for else None, length_for=length_for)
    if due_at is not None:
        values.update(due_at=due_at, not_before=None)
    if approval_id is not None:
        values.update(approval_id=approval_id, status=Status.AWAITING_APPROVAL)
    res = conn.execute(update(DELIVERIES)
                       .where(D.id == delivery_id, D.kind == Kind.QUEUED, D.action == Action.POST,
                              D.status.in_(UNSENT), not_in_doubt())
                       .values(**values))
    if res.rowcount == 1 and approval_id is None:
        wake_workers(conn)
    return res.rowcount == 1


def settle_approval(conn: Connection, approval_id: int, approve: bool, now: datetime, error: str | None) -> int:
    """The posts awaiting one approval request become planned, or are cancelled as rejected."""
    values: dict[str, Any] = ({"status": Status.PLANNED} if approve else
                              {"status": Status.CANCELLED, "error": error, "error_kind": ErrorKind.REJECTED})
    res = conn.execute(update(DELIVERIES)
                       .where(D.approval_id == approval_id, D.status == Status.AWAITING_APPROVAL)
                       .values(updated_at=now, **values))
    if approve and res.rowcount:
        wake_workers(conn)
    return res.rowcount or 0


def awaiting(conn: Connection, approval_id: int) -> int:
    """How many posts still wait for this approval request."""
    rows = conn.execute(select(D.id).where(D.approval_id == approval_id, D.status == Status.AWAITING_APPROVAL))
    return len(rows.all())
