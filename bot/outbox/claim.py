"""Claiming: which accounts have due posts, the next batch of one account, and taking one delivery right
before it is sent.

A batch is only read (`due_batch`); each delivery is claimed (`take`) just before its network call, in one
statement that also re-checks the campaign's state and the emergency stop. So a worker killed mid-send
holds one delivery per account, not a whole batch, and nothing claimed waits while its worker is busy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    true,
    update,
)

from bot.clock import as_utc
from bot.outbox.link import atomic
from bot.outbox.tables import (
    ACCOUNTS,
    CAMPAIGNS,
    CONTROL,
    DELIVERIES,
    being_read_back,
    human,
    keep_doubt,
    of_the_last_close,
    outlives_close,
    outlives_close_row,
)
from bot.states import Action, CampaignState, ErrorKind, Kind, Status
from bot.store.models import UTCDateTime
from bot.store.raw import Raw

log = logging.getLogger(__name__)
D, C = DELIVERIES.c, CAMPAIGNS.c
READ_WAIT = timedelta(minutes=10)
"""A closing message waits this long at most for a post of its account being read back after a crash or a
close (bot/worker/recovery.py), so that it replies under the post that really went out."""


@dataclass(frozen=True)
class Claimed:
    id: int
    campaign_id: str
    account_id: str
    kind: str
    action: str
    language: str
    text: str
    media: list[dict[str, str]]
    reply_in_thread: bool
    attempts: int
    """Counting the attempt this claim makes."""
    due_at: datetime
    text_length: int | None = None
    """Measured when the row was planned or edited, as ``length_for``'s network counts it (None: not stored)."""
    length_for: str | None = None
    in_doubt: bool = False
    """An earlier attempt may have gone out (its answer was lost): this one is a retry with the same key."""


def campaign_allows() -> ColumnElement[bool]:
    """Calls to action (and their boosts) go out while their campaign is active; closing messages once it is
    closed, those of its last close only; a supporter taking a boost back, whatever the campaign's state (it is
    theirs to ask)."""
    return or_(and_(C.state == CampaignState.ACTIVE, D.kind != Kind.CLOSING),
               and_(C.state == CampaignState.CLOSED, D.kind == Kind.CLOSING,
                    or_(D.action != Action.POST, of_the_last_close())),  # supporters' boosts of it: their own keys
               D.action == Action.UNBOOST)


def runnable(now: Any) -> ColumnElement[bool]:
    return and_(D.status == Status.PLANNED, D.due_at <= now, or_(D.not_before.is_(None), D.not_before <= now),
                campaign_allows())


def paused_all(conn: Connection) -> bool:
    return bool(conn.scalar(select(CONTROL.c.paused_all).where(CONTROL.c.id == 1)))


def blocked_accounts(conn: Connection, now: datetime) -> set[str]:
    """Disabled, rate limited, cooling down or held as misconfigured (retried when the hold ends)."""
    a = ACCOUNTS.c
    return set(conn.scalars(select(a.account_id).where(or_(a.disabled.is_(True), a.rate_limited_until > now))))


def stopped() -> ColumnElement[bool]:
    """The emergency stop, read in the statement that needs it (no round trip of its own)."""
    return exists(select(CONTROL.c.id).where(CONTROL.c.id == 1, CONTROL.c.paused_all.is_(True)))


def account_blocked(now: Any, account: Any = D.account_id) -> ColumnElement[bool]:
    """Disabled or rate limited; ``account`` a bound value makes it a one-time filter (not a join)."""
    a = ACCOUNTS.c
    return exists(select(a.account_id).where(a.account_id == account,
                                             or_(a.disabled.is_(True), a.rate_limited_until > now)))


def reading_due(now: Any) -> ColumnElement[bool]:
    """A post whose outcome is unknown, its read-back due (bot/outbox/workers.py)."""
    return and_(being_read_back(), D.not_before <= now)


def misconfigured() -> Any:
    """Whether the row's account is marked misconfigured (a send that works clears it, and only then)."""
    a = ACCOUNTS.c
    return (select(a.misconfigured_reason.is_not(None)).where(a.account_id == D.account_id)
            .scalar_subquery().label("misconfigured"))


def _stale(row: Any, now: datetime) -> bool:
    """Past its campaign's grace window: to be marked missed, not sent. Never what outlives a close."""
    return (not outlives_close_row(row) and row.attempts == 0
            and row.not_before is None and as_utc(row.due_at) < now - timedelta(seconds=row.grace_seconds))


def mark_missed(conn: Connection, account_id: str, now: datetime) -> int:
    """Every due post of the account past its campaign's grace window becomes missed, its reason saying when it
    was due. Read in one statement, written in one executemany (a worker down for a day may find hundreds)."""
    stale = conn.execute(
        select(D.id, D.due_at, C.grace_seconds).join(CAMPAIGNS, C.id == D.campaign_id)
        .where(D.account_id == account_id, D.status == Status.PLANNED, ~outlives_close(), D.attempts == 0,
               D.not_before.is_(None), D.due_at < now, C.state == CampaignState.ACTIVE)).all()
    missed = [{"_id": r.id, "_error": f"not sent: it was due at {as_utc(r.due_at):%Y-%m-%d %H:%M} UTC, and at "
                                      f"{now:%Y-%m-%d %H:%M} UTC it was past the campaign's grace window of "
                                      f"{human(timedelta(seconds=r.grace_seconds))}"}
              for r in stale if as_utc(r.due_at) < now - timedelta(seconds=r.grace_seconds)]
    if not missed:
        return 0
    with atomic(conn):  # one commit, not one per row (the dispatcher's link is autocommit)
        conn.execute(update(DELIVERIES).where(D.id == bindparam("_id"), D.status == Status.PLANNED)
                     .values(status=Status.MISSED, error_kind=ErrorKind.MISSED, updated_at=now,
                             error=bindparam("_error")), missed)
    log.warning("account %s: %d post(s) missed, past their campaign's grace window", account_id, len(missed))
    return len(missed)


def _due_statement() -> Any:
    """Built once (statement construction costs CPU on the hot path); executed with bound values. The
    emergency stop and the account's holds (disabled, rate limited) are read in the same statement, and
    whether the account is marked misconfigured (so a send that works clears it, and only then)."""
    now = bindparam("b_now", type_=UTCDateTime())
    return (select(D.id, D.campaign_id, D.kind, D.action, D.language, D.text, D.media, D.reply_in_thread,
                   D.attempts, D.due_at, D.not_before, C.grace_seconds, misconfigured())
            .join(CAMPAIGNS, C.id == D.campaign_id)
            .where(D.account_id == bindparam("b_account"), runnable(now), ~stopped(),
                   ~account_blocked(now, bindparam("b_account")))
            .order_by(D.due_at, D.id).limit(bindparam("b_limit", type_=Integer())))


def _due_counting_statement(windows: int) -> Raw:
    """The batch read and the account's rate budget counts in one statement (the counts of
    bot/outbox/budgets.py ``used_in_windows``, joined once to every row): an account whose counts are not in
    memory (its lock taken afresh: a supporter's single boost, as a rule) reads both in one round trip."""
    b = DELIVERIES.alias("budget")
    counts = [func.coalesce(func.sum(case((b.c.sent_at >= bindparam(f"b_since_{n}", type_=UTCDateTime()), 1),
                                          else_=0)), 0).label(f"used_{n}") for n in range(windows)]
    used = (select(*counts).where(b.c.account_id == bindparam("b_account"),
                                  or_(b.c.status == Status.SENT, b.c.status == Status.UNKNOWN),
                                  b.c.sent_at >= bindparam("b_widest", type_=UTCDateTime()))
            .subquery("used"))
    return Raw(_due_statement().join(used, true()).add_columns(*used.c))


_SENT_FIELDS = (D.id, D.campaign_id, D.kind, D.action, D.language, D.text, D.media, D.reply_in_thread, D.attempts,
                D.due_at, D.text_length, D.length_for, D.error_kind)
"""What a claim returns: the row's fields as they are when it is claimed (``attempts`` counting this one)."""


def _claimed(row: Any, account_id: str) -> Claimed:
    return Claimed(row.id, row.campaign_id, account_id, row.kind, row.action, row.language, row.text,
                   list(row.media or []), bool(row.reply_in_thread), row.attempts, as_utc(row.due_at),
                   row.text_length, row.length_for, row.error_kind == ErrorKind.IN_DOUBT)


def _take_statement(which: ColumnElement[bool]) -> Any:
    """The claim and the re-check in one statement: still planned, still due (a person may have moved it
    later since the batch was read), not deferred, its campaign in the right state, no emergency stop, its
    account neither disabled nor held (rate limited, misconfigured) since it was read; a closing message also
    waits while a post of its campaign and account is in flight or read back. RETURNING gives back what is
    sent, as the row is now (its text may have been edited since the batch was read). ``which``: the rows (by
    a single id on the hot path: an expanding IN is rendered again on every call)."""
    now = bindparam("b_now", type_=UTCDateTime())
    inflight = DELIVERIES.alias("inflight")
    campaign_ok = exists(select(C.id).where(C.id == D.campaign_id, campaign_allows()))
    being_read = and_(being_read_back(inflight),
                      inflight.c.updated_at >= bindparam("b_read_since", type_=UTCDateTime()))
    closing_waits = exists(select(inflight.c.id).where(
        inflight.c.campaign_id == D.campaign_id, inflight.c.account_id == D.account_id, inflight.c.id != D.id,
        or_(inflight.c.status == Status.SENDING, being_read)))
    return (update(DELIVERIES)
            .where(which, D.status == Status.PLANNED, D.due_at <= now,
                   or_(D.not_before.is_(None), D.not_before <= now), campaign_ok, ~stopped(),
                   ~account_blocked(now),
                   or_(D.kind != Kind.CLOSING, ~closing_waits))
            .values(status=Status.SENDING, lease_owner=bindparam("b_owner"),
                    lease_expires_at=bindparam("b_lease", type_=UTCDateTime()), attempts=D.attempts + 1,
                    updated_at=now)
            .returning(*_SENT_FIELDS))


_DUE, _TAKE = Raw(_due_statement()), _take_statement(D.id.in_(bindparam("b_ids", expanding=True)))
_TAKE_ONE = Raw(_take_statement(D.id == bindparam("b_id")))


def any_stale(rows: Sequence[Any], now: datetime) -> bool:
    """Whether any of these rows (due_batch's, or a tick's Upcoming) is past its campaign's grace window."""
    return any(_stale(r, now) for r in rows)


def due_batch(conn: Connection, account_id: str, now: datetime, limit: int) -> Sequence[Any]:
    """Up to ``limit`` due deliveries of one account, oldest first (read only: nothing is claimed)."""
    params = {"b_account": account_id, "b_now": now, "b_limit": limit}
    rows = _DUE.all(conn, params)
    if any(_stale(r, now) for r in rows):
        mark_missed(conn, account_id, now)
        rows = [r for r in _DUE.all(conn, params) if not _stale(r, now)]
    return rows


_DUE_COUNTING: dict[int, Raw] = {}
"""By number of budget windows (an account has one to three)."""


def due_batch_counted(conn: Connection, account_id: str, now: datetime, limit: int,
                      since: Sequence[datetime]) -> tuple[Sequence[Any], list[int] | None]:
    """`due_batch`, and what the account sent (or may have sent) since each of ``since`` (the starts of its
    budget windows; None when nothing is due: no row to carry them). One statement."""
    raw = _DUE_COUNTING.get(len(since)) or _DUE_COUNTING.setdefault(len(since), _due_counting_statement(len(since)))
    params: dict[str, Any] = {"b_account": account_id, "b_now": now, "b_limit": limit, "b_widest": min(since)}
    params |= {f"b_since_{n}": start for n, start in enumerate(since)}
    rows = raw.all(conn, params)
    if any(_stale(r, now) for r in rows):
        mark_missed(conn, account_id, now)
        rows = [r for r in raw.all(conn, params) if not _stale(r, now)]
    if not rows:
        return rows, None
    return rows, [int(getattr(rows[0], f"used_{n}")) for n in range(len(since))]


def take(conn: Connection, owner: str, rows: Sequence[Any], account_id: str, now: datetime,
         lease_until: datetime) -> list[Claimed]:
    """Claim these rows if they may still be sent now: still planned, still due, not deferred, their campaign in the
    right state, no emergency stop; a closing message also waits while a post of its campaign and account
    is in flight or being read back (it must reply under the last post that really went out). One statement."""
    if not rows:
        return []
    order = {r.id: n for n, r in enumerate(rows)}
    taken = conn.execute(_TAKE, {"b_ids": list(order), "b_now": now, "b_owner": owner, "b_lease": lease_until,
                                 "b_read_since": now - READ_WAIT})
    return sorted((_claimed(r, account_id) for r in taken), key=lambda c: order[c.id])


def take_one(conn: Connection, owner: str, row: Any, account_id: str, now: datetime,
             lease_until: datetime) -> Claimed | None:
    """`take` for one row (only its id is read): the hot path's claim, one autocommit statement."""
    _, taken = _TAKE_ONE.execute(conn, {"b_id": row.id, "b_now": now, "b_owner": owner, "b_lease": lease_until,
                                        "b_read_since": now - READ_WAIT})
    return None if taken is None else _claimed(taken, account_id)


def _fresh() -> ColumnElement[bool]:
    """Not past its campaign's grace window at ``b_fresh`` (a second after now: a row that close to its end
    goes the way that checks it exactly, `due_batch`), in PostgreSQL's time arithmetic."""
    ends = D.due_at + func.make_interval(0, 0, 0, 0, 0, 0, C.grace_seconds)
    return or_(outlives_close(), D.attempts > 0, D.not_before.is_not(None),
               ends > bindparam("b_fresh", type_=UTCDateTime()))


def _take_first_statement(windows: int) -> Raw:
    """The account's first due delivery (as `due_batch` orders them) claimed as `take` claims, if it is not past
    its grace window and the account's rate budget allows one more (``b_posts_N`` in the window since
    ``b_since_N``); returning with it the budget's counts, whether the account is marked misconfigured and
    whether another of its posts is due (``more``). One statement: the due read and the claim of an account
    whose run starts afresh (a supporter's boost, as a rule). Nothing comes back when nothing was claimed.
    PostgreSQL only: SQLite renders RETURNING's columns unqualified, which breaks its correlated subqueries
    (and there a statement costs no round trip over a network)."""
    now = bindparam("b_now", type_=UTCDateTime())
    account: Any = bindparam("b_account")
    first = (select(D.id).join(CAMPAIGNS, C.id == D.campaign_id)
             .where(D.account_id == account, runnable(now), ~stopped(), ~account_blocked(now, account))
             .order_by(D.due_at, D.id).limit(1).scalar_subquery())
    b, other = DELIVERIES.alias("budget"), DELIVERIES.alias("other")
    used = [select(func.count(b.c.id)).where(b.c.account_id == account,
                                             or_(b.c.status == Status.SENT, b.c.status == Status.UNKNOWN),
                                             b.c.sent_at >= bindparam(f"b_since_{n}", type_=UTCDateTime()))
            .scalar_subquery() for n in range(windows)]
    allowed = [u < bindparam(f"b_posts_{n}", type_=Integer()) for n, u in enumerate(used)]
    fresh = exists(select(C.id).where(C.id == D.campaign_id, _fresh()))
    more = exists(select(other.c.id).where(other.c.account_id == account, other.c.id != D.id,
                                           other.c.status == Status.PLANNED, other.c.due_at <= now,
                                           or_(other.c.not_before.is_(None), other.c.not_before <= now)))
    return Raw(_take_statement(D.id == first).where(fresh, *allowed).returning(
        misconfigured(), more.label("more"), *(u.label(f"used_{n}") for n, u in enumerate(used))))


_TAKE_FIRST: dict[int, Raw] = {}
"""By number of budget windows (none to three)."""


@dataclass(frozen=True)
class First:
    """What `take_first` claimed, and what the run needs with it."""

    claimed: Claimed
    misconfigured: bool
    more: bool
    """Another post of the account is due now (the run reads them after this one)."""
    used: list[int]
    """The budget's counts before this claim (as `budgets.used_in_windows`)."""


def take_first(conn: Connection, owner: str, account_id: str, now: datetime, lease_until: datetime,
               budget: Sequence[tuple[datetime, int]]) -> First | None:
    """Claim the account's first due delivery with its due read, in one statement (see `_take_first_statement`):
    None when nothing was claimed (nothing due, the first past its grace window, the budget spent, a hold...):
    the run then reads its batch as always, which settles each of those. ``budget``: each window's start and
    how many posts it allows. PostgreSQL only."""
    raw = _TAKE_FIRST.get(len(budget)) or _TAKE_FIRST.setdefault(len(budget), _take_first_statement(len(budget)))
    params: dict[str, Any] = {"b_account": account_id, "b_now": now, "b_owner": owner, "b_lease": lease_until,
                              "b_read_since": now - READ_WAIT, "b_fresh": now + timedelta(seconds=1)}
    for n, (since, posts) in enumerate(budget):
        params[f"b_since_{n}"], params[f"b_posts_{n}"] = since, posts
    _, row = raw.execute(conn, params)
    if row is None:
        return None
    return First(_claimed(row, account_id), bool(row.misconfigured), bool(row.more),
                 [int(getattr(row, f"used_{n}")) for n in range(len(budget))])


def release(conn: Connection, owner: str, ids: list[int], now: datetime, why: str) -> int:
    """Give back claimed rows that were not sent: the attempt did not count."""
    if not ids:
        return 0
    res = conn.execute(
        update(DELIVERIES)
        .where(D.id.in_(ids), D.status == Status.SENDING, D.lease_owner == owner)
        .values(status=Status.PLANNED, lease_owner=None, lease_expires_at=None, error=f"waiting: {why}",
                error_kind=keep_doubt(ErrorKind.HELD), attempts=D.attempts - 1, updated_at=now))
    return res.rowcount or 0
