"""The tables the outbox writes, as Core tables: the hot path uses Core statements, not the ORM."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, Table, and_, case, cast, exists, func, literal, or_, select

from bot.clock import as_utc
from bot.states import Action, ErrorKind, Kind, Status
from bot.store.models import AccountStateRow, CampaignRow, ControlRow, DeliveryRow, WorkerRow

DELIVERIES: Table = DeliveryRow.__table__  # type: ignore[assignment]
CAMPAIGNS: Table = CampaignRow.__table__  # type: ignore[assignment]
CONTROL: Table = ControlRow.__table__  # type: ignore[assignment]
ACCOUNTS: Table = AccountStateRow.__table__  # type: ignore[assignment]
WORKERS: Table = WorkerRow.__table__  # type: ignore[assignment]


def outlives_close() -> ColumnElement[bool]:
    """A closing message, or a supporter taking a boost back: still wanted after its campaign closed, and late
    (never stale, never missed, never cancelled by a close, whatever its campaign's state). The one rule every
    check that stops or drops a call to action asks (the claim, the grace window, a send's record, a read-back);
    `outlives_close_row` is the same rule for a row read into Python: change both together."""
    d = DELIVERIES.c
    return or_(d.kind == Kind.CLOSING, d.action == Action.UNBOOST)


def outlives_close_row(row: Any) -> bool:
    """`outlives_close` of a row read into Python (a tick's rows carry no action: they are read again with
    their batch, which says)."""
    return bool(row.kind == Kind.CLOSING or getattr(row, "action", None) == Action.UNBOOST)


def of_the_last_close() -> ColumnElement[bool]:
    """The organisation's closing message of its campaign's last close: its plan key starts
    ``<campaign>|closing|<close_seq>|`` (bot/actions/campaigns.py close_in; CAMPAIGNS joined or correlated).
    One of an earlier close (the campaign reopened since) is never wanted again: the last close brings its
    own. `of_the_last_close_row` is the same rule for a row read into Python."""
    d, c = DELIVERIES.c, CAMPAIGNS.c
    prefix = c.id + literal("|closing|") + cast(c.close_seq, String()) + literal("|")
    return func.substr(d.plan_key, 1, func.length(prefix)) == prefix


def of_the_last_close_row(row: Any) -> bool:
    """`of_the_last_close` of a row carrying plan_key, campaign_id and its campaign's close_seq."""
    return str(row.plan_key).startswith(f"{row.campaign_id}|closing|{row.close_seq}|")


def being_read_back(table: Any = DELIVERIES) -> ColumnElement[bool]:
    """A post whose outcome is unknown that a worker reads back (flagged by a lost lease, a close, a pause, the
    emergency stop, a person's cancel): settled by the account's answer, not yet a person's to settle. A
    person's `resolve`, or a day without an answer, clears ``not_before``: then it is. `being_read_back_row` is
    the same rule for a row read into Python. ``table``: DELIVERIES or an alias of it."""
    d = table.c
    return and_(d.status == Status.UNKNOWN, d.error_kind == ErrorKind.OUTCOME_UNKNOWN, d.not_before.is_not(None))


def being_read_back_row(row: Any) -> bool:
    return bool(row.status == Status.UNKNOWN and row.error_kind == ErrorKind.OUTCOME_UNKNOWN
                and row.not_before is not None)


READ_FOR = timedelta(days=1)
"""How long a worker tries to read a post back (from when it was flagged: ``updated_at``, which its retries keep)
before leaving it to a person (bot/worker/recovery.py)."""


def left_to_a_worker(now: datetime) -> ColumnElement[bool]:
    """A post being read back that a worker will settle, so not yet a person's (the dashboard, `status`, the
    alerts): flagged less than READ_FOR ago, on an account that is not disabled. A disabled account is not run,
    so its posts are not read: a person's at once; and one flagged longer ago is a person's even if no worker
    ran meanwhile. `left_to_a_worker_row` is the same rule for a row read into Python."""
    d, a = DELIVERIES.c, ACCOUNTS.c
    disabled = exists(select(a.account_id).where(a.account_id == d.account_id, a.disabled.is_(True)))
    return and_(being_read_back(), d.updated_at >= now - READ_FOR, ~disabled)


def left_to_a_worker_row(row: Any, now: datetime, disabled: Collection[str]) -> bool:
    """``disabled``: the ids of the disabled accounts."""
    return bool(being_read_back_row(row) and as_utc(row.updated_at) >= now - READ_FOR
                and row.account_id not in disabled)


def in_doubt() -> ColumnElement[bool]:
    """An earlier attempt of the row may have gone out (an idempotent network's lost answer, retried with the
    same key): said by its error kind until a send or a read-back settles it. What a later attempt answers
    (rate limited, a 5xx, refused), or a wait of its own (held, deferred), says nothing of that attempt: every
    write of why a row waits keeps the doubt (`keep_doubt`); a close and a re-plan read such a row back."""
    return DELIVERIES.c.error_kind == literal(str(ErrorKind.IN_DOUBT))


def not_in_doubt() -> ColumnElement[bool]:
    """The negation of `in_doubt` that holds for a row with no error kind too (NOT of a NULL comparison does
    not): what a person's change of an unsent row re-checks in its UPDATE."""
    return DELIVERIES.c.error_kind.is_distinct_from(literal(str(ErrorKind.IN_DOUBT)))


def keep_doubt(kind: Any) -> Any:
    """``kind`` as the row's new error kind, unless the row is in doubt: then it stays in doubt."""
    return case((in_doubt(), literal(str(ErrorKind.IN_DOUBT))), else_=literal(None if kind is None else str(kind)))


def human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds")
