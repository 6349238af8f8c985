"""Delivery changes people make (close, reopen, queue, resolve) and the planner's inserts: through here, so
the outbox stays the only code that writes delivery rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from bot.errors import NotFound, UserError
from bot.outbox.tables import DELIVERIES
from bot.states import ErrorKind, Kind, Status

D = DELIVERIES.c
REVIVABLE = (ErrorKind.CLOSED, ErrorKind.UNSCHEDULED)
UNSENT = (Status.PLANNED, Status.AWAITING_APPROVAL)
"""What a person may still cancel or change: nothing of it has reached a network."""


NOTIFY_DUE = text("SELECT pg_notify('campaign_bot_due', '')")
"""Wakes every worker's dispatch loop (bot/wakeups.py) when the transaction commits; PostgreSQL only."""


def wake_workers(conn: Connection) -> None:
    """In the transaction that plans rows: workers hear of them when (and only if) it commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(NOTIFY_DUE)


def insert_planned(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """New planned deliveries (rows as built by bot.planning.rows.row)."""
    if not rows:
        return 0
    for r in rows:
        if r.get("status", Status.PLANNED) not in UNSENT:
            raise ValueError(f"{r.get('plan_key')}: new deliveries are planned or awaiting approval")
    conn.execute(insert(DELIVERIES), list(rows))
    if any(r.get("status", Status.PLANNED) == Status.PLANNED for r in rows):
        wake_workers(conn)
    return len(rows)


def cancel_unsent(conn: Connection, campaign_id: str, now: datetime, reason: str, *,
                  kinds_except: str | None = None, only_kind: str | None = None,
                  error_kind: ErrorKind = ErrorKind.CLOSED, ids: Iterable[int] | None = None) -> int:
    """Cancel planned deliveries of a campaign. What is in flight (`sending`) is left to its worker, which
    records it sent, or, its campaign being closed, cancelled or unknown: never planned again."""
    stmt = update(DELIVERIES).where(D.campaign_id == campaign_id, D.status.in_(UNSENT))
    if kinds_except:
        stmt = stmt.where(D.kind != kinds_except)
    if only_kind:
        stmt = stmt.where(D.kind == only_kind)
    if ids is not None:
        stmt = stmt.where(D.id.in_(list(ids)))
    res = conn.execute(stmt.values(status=Status.CANCELLED, error=reason, error_kind=error_kind, updated_at=now))
    return res.rowcount or 0


def update_planned(conn: Connection, changes: Sequence[dict[str, Any]], now: datetime) -> int:
    """Bring planned rows in line with an edited file; each change is ``{"id": ..., field: value, ...}``. Only
    a row still planned changes (history is never rewritten). One executemany per set of changed fields."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        fields = tuple(sorted(k for k in change if k != "id"))
        groups.setdefault(fields, []).append({"_id": change["id"], **{f: change[f] for f in fields}})
    done = 0
    for fields, params in groups.items():
        stmt = (update(DELIVERIES).where(D.id == bindparam("_id"), D.status == Status.PLANNED)
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


def campaign_of(conn: Connection, delivery_id: int) -> str | None:
    return conn.scalar(select(D.campaign_id).where(D.id == delivery_id))


def resolve(conn: Connection, delivery_id: int, now: datetime, by: str, *, sent_url: str | None,
            resend: bool, campaign_closed: bool) -> tuple[str, str]:
    """A person settles an unknown or failed delivery. Returns (campaign id, what was done)."""
    d = conn.execute(select(D.id, D.status, D.campaign_id, D.kind, D.error, D.sent_at, D.remote_id)
                     .where(D.id == delivery_id)).first()
    if d is None:
        raise NotFound(f"no delivery {delivery_id}")
    if d.status not in (Status.UNKNOWN, Status.FAILED):
        raise UserError(f"delivery {delivery_id} is {d.status}; only unknown or failed deliveries are resolved")
    values: dict[str, Any]
    if sent_url:
        values = dict(status=Status.SENT, sent_at=d.sent_at or now, remote_url=sent_url,
                      remote_id=d.remote_id or sent_url.rstrip("/").rsplit("/", 1)[-1])
        action = "marked sent"
    elif resend:
        if campaign_closed and d.kind != Kind.CLOSING:
            raise UserError(f"{d.campaign_id} is closed: a call to action is not sent again")
        values = dict(status=Status.PLANNED, not_before=None, lease_owner=None, lease_expires_at=None)
        action = "queued again"
    else:
        values = dict(status=Status.CANCELLED)
        action = "cancelled"
    error = f"{action} by {by}" + (f" (was: {d.error})" if d.error else "")
    res = conn.execute(update(DELIVERIES).where(D.id == delivery_id, D.status == d.status)
                       .values(error=error, error_kind=ErrorKind.RESOLVED, updated_at=now, **values))
    if res.rowcount != 1:
        raise UserError(f"delivery {delivery_id} changed meanwhile; look again")
    if resend:
        wake_workers(conn)
    return d.campaign_id, action


def pending(conn: Connection, delivery_id: int) -> Any:
    """The fields a person's change to one delivery needs, or NotFound."""
    d = conn.execute(select(D.id, D.status, D.kind, D.campaign_id, D.account_id, D.language, D.due_at)
                     .where(D.id == delivery_id)).first()
    if d is None:
        raise NotFound(f"no delivery {delivery_id} (see `campaign-bot history` or `plan`)")
    return d


def cancel_one(conn: Connection, delivery_id: int, now: datetime, reason: str) -> None:
    """A person cancels one post that has not gone out. Only a planned row changes: one being sent is its
    worker's, and what went out is history."""
    d = pending(conn, delivery_id)
    if d.status == Status.SENDING:
        raise UserError(f"delivery {delivery_id} is being sent right now; check `campaign-bot history` in a minute")
    res = conn.execute(update(DELIVERIES).where(D.id == delivery_id, D.status.in_(UNSENT))
                       .values(status=Status.CANCELLED, error=reason, error_kind=ErrorKind.CANCELLED_BY_HAND,
                               updated_at=now))
    if res.rowcount != 1:
        raise UserError(f"delivery {delivery_id} is {d.status}; only a planned or queued post is cancelled")


def edit_queued(conn: Connection, delivery_id: int, now: datetime, *, text: str | None = None,
                due_at: datetime | None = None) -> None:
    """Change a queued post's text or time while it is still planned (the caller validated both)."""
    values: dict[str, Any] = {"updated_at": now}
    if text is not None:
        values["text"] = text
    if due_at is not None:
        values.update(due_at=due_at, not_before=None)
    res = conn.execute(update(DELIVERIES)
                       .where(D.id == delivery_id, D.kind == Kind.QUEUED, D.status.in_(UNSENT))
                       .values(**values))
    if res.rowcount != 1:
        raise UserError(f"delivery {delivery_id} changed meanwhile (sent or cancelled); look again")


def settle_approval(conn: Connection, plan_key_prefix: str, approve: bool, now: datetime, by: str) -> int:
    """Posts awaiting approval (one queue request: one plan-key prefix) become planned, or are rejected."""
    values: dict[str, Any] = ({"status": Status.PLANNED} if approve else
                              {"status": Status.CANCELLED, "error": f"rejected by {by}",
                               "error_kind": ErrorKind.REJECTED})
    res = conn.execute(update(DELIVERIES)
                       .where(D.plan_key.startswith(plan_key_prefix), D.status == Status.AWAITING_APPROVAL)
                       .values(updated_at=now, **values))
    if approve and res.rowcount:
        wake_workers(conn)
    return res.rowcount or 0
