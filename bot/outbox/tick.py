"""The dispatch tick: which accounts have posts due now or to read back, the posts coming due within the
look-ahead, and the next due time, in one statement (bot/worker/daemon.py runs it; bot/outbox/claim.py takes
what it finds, re-checking everything)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    Connection,
    Integer,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from bot.clock import as_utc
from bot.outbox.claim import account_blocked, campaign_allows, misconfigured, reading_due, runnable, stopped
from bot.outbox.tables import CAMPAIGNS, DELIVERIES
from bot.states import Status
from bot.store.models import UTCDateTime
from bot.store.raw import Raw

D, C = DELIVERIES.c, CAMPAIGNS.c


_DUE, _READING, UPCOMING = 1, 2, 4
"""A tick's row: an account with posts due now, one with a post to read back now (both: 3), a post coming due."""


def _accounts_statement() -> Any:
    """The accounts with posts due now (``due`` 1) or a post to read back now (``reading`` 1), ``b_cap`` at
    most, taken in turn: those after ``b_after`` (the last account the previous cut read reached) first, in
    order, then from the start again. So a read cut at its size never starves an account: each comes within
    (due accounts / cap) ticks, whatever the others at the front do (busy, held elsewhere, waiting).
    Reading is not publishing, so the emergency stop does not hold a read-back (a post found then is
    recorded sent before anything else is decided); an account's holds hold both."""
    now = bindparam("b_now", type_=UTCDateTime())
    one, zero = literal(1, Integer()), literal(0, Integer())
    found = union_all(
        select(D.account_id, one.label("due"), zero.label("reading")).join(CAMPAIGNS, C.id == D.campaign_id)
        .where(runnable(now), ~stopped(), ~account_blocked(now)),
        select(D.account_id, zero.label("due"), one.label("reading")).where(reading_due(now), ~account_blocked(now)),
    ).subquery("found")
    after = bindparam("b_after", type_=D.account_id.type)
    place = func.row_number().over(order_by=(found.c.account_id <= after, found.c.account_id))
    return (select(found.c.account_id, (func.max(found.c.due) + 2 * func.max(found.c.reading)).label("reads"),
                   place.label("place"))
            .group_by(found.c.account_id).order_by(place).limit(bindparam("b_cap", type_=Integer())))


def _next_due_statement() -> Any:
    """Three index range scans (each min is one index probe)."""
    now = bindparam("b_now", type_=UTCDateTime())
    due = select(func.min(D.due_at)).where(D.status == Status.PLANNED, D.due_at > now).scalar_subquery()
    deferred = select(func.min(D.not_before)).where(D.status == Status.PLANNED, D.not_before > now).scalar_subquery()
    read = select(func.min(D.not_before)).where(D.status == Status.UNKNOWN, D.not_before > now).scalar_subquery()
    return select(null(), null(), due.label("due"), deferred.label("deferred"), read.label("read"))


def _upcoming_statement() -> Any:
    """The planned posts coming due after now and up to ``b_until``, soonest first, ``b_ahead`` at most, with
    what their account's run needs to take them without reading them again (bot/worker/daemon.py runs each
    account when its post comes due, without a tick of its own)."""
    now = bindparam("b_now", type_=UTCDateTime())
    until = bindparam("b_until", type_=UTCDateTime())
    return (select(D.account_id, literal(UPCOMING, Integer()).label("reads"), D.due_at.label("due"),
                   cast(null(), UTCDateTime()).label("deferred"), cast(null(), UTCDateTime()).label("read"),
                   D.id, D.kind, D.attempts, C.grace_seconds, misconfigured())
            .join(CAMPAIGNS, C.id == D.campaign_id)
            .where(D.status == Status.PLANNED, D.due_at > now, D.due_at <= until, D.not_before.is_(None),
                   campaign_allows(), ~stopped())
            .order_by(D.due_at, D.id).limit(bindparam("b_ahead", type_=Integer())))


def _tick_statement() -> Any:
    """What a dispatch tick reads, in one statement (one round trip): a row per account with posts due now or
    a post to read back now (``b_cap`` at most: `_accounts_statement`), a row per post coming due up to
    ``b_until`` (the look-ahead), then one row (its account NULL) with the next due time, the next end of a
    deferral and the next read-back, strictly after now."""
    none = cast(null(), UTCDateTime())
    times = (none.label("due"), none.label("deferred"), none.label("read"))
    rest = (cast(null(), D.kind.type).label("kind"), cast(null(), D.attempts.type).label("attempts"),
            cast(null(), C.grace_seconds.type).label("grace_seconds"), cast(null(), Boolean()).label("misconfigured"))
    accounts, upcoming = _accounts_statement().subquery("accounts"), _upcoming_statement().subquery()
    return union_all(  # an account's row carries its place in the order taken as its ``id``
        select(accounts.c.account_id, accounts.c.reads, *times, cast(accounts.c.place, D.id.type).label("id"), *rest),
        select(*upcoming.c), _next_due_statement().add_columns(cast(null(), D.id.type).label("id"), *rest))


_TICK = Raw(_tick_statement())


class Upcoming(NamedTuple):
    """A planned post coming due: what the daemon keeps to run its account then, and what the account's run
    needs to take it without reading it again (the fields `due_batch` gives)."""

    due_at: datetime
    account_id: str
    id: int
    kind: str
    attempts: int
    grace_seconds: float
    misconfigured: bool
    not_before: None = None


@dataclass(frozen=True)
class Tick:
    accounts: list[str]
    """Accounts with posts due now that may post (the emergency stop and the accounts' holds folded in)."""
    next_due: datetime | None
    """The next time a planned delivery comes due, its deferral ends or a read-back is due, strictly after now."""
    reading: frozenset[str] = frozenset()
    """Accounts with a post to read back now (bot/worker/recovery.py), read by the account's own run."""
    upcoming: tuple[Upcoming, ...] = ()
    """The planned posts coming due up to the look-ahead's end, soonest first."""
    known_until: datetime | None = None
    """Up to when ``upcoming`` is every planned post's due time (the look-ahead's end, earlier when it was
    cut at its size, or when a deferral ends or a read-back comes due sooner): the next tick is due then."""

    cut_after: str | None = None
    """Set when the accounts read were cut at the tick's cap: the last one reached (the next tick goes on
    after it); None when they were every account with something to do now."""

    @property
    def runs(self) -> list[str]:
        """Every account with something to do now."""
        return sorted(set(self.accounts) | self.reading)


AHEAD = 1000
"""Upcoming posts a tick reads at most (bot/worker/daemon.py runs each account when its post comes due)."""
ACCOUNTS = 500
"""Accounts with something to do now that a tick reads at most (bot/worker/daemon.py ticks again as soon as
its senders want more when the read was cut): a supporters' wave has one per supporter, and reading 10,000
at every tick while it drained was about 8 % of the drain's CPU."""
_EVERY = 2**31 - 1  # no cap (an INTEGER on PostgreSQL)


def tick(conn: Connection, now: datetime, ahead: timedelta | None = None, cap: int | None = None,
         after: str | None = None) -> Tick:
    """``ahead``: also the planned posts coming due up to now + ahead (the look-ahead: none by default).
    ``cap``: the accounts with something to do now read at most (None: every one), those after ``after``
    first (the previous cut read's `Tick.cut_after`: see `_accounts_statement`)."""
    accounts: set[str] = set()
    reading: set[str] = set()
    times: list[datetime] = []
    others: list[datetime] = []
    upcoming: list[Upcoming] = []
    until = now + ahead if ahead is not None else now
    found: list[tuple[int, str, int]] = []  # the accounts' rows: (place in the order taken, account, reads)
    for row in _TICK.all(conn, {"b_now": now, "b_until": until, "b_ahead": AHEAD if ahead is not None else 0,
                                "b_cap": _EVERY if cap is None else cap + 1, "b_after": after or ""}):
        if row.account_id is None:
            times = [as_utc(t) for t in (row.due, row.deferred, row.read) if t is not None]
            others = [as_utc(t) for t in (row.deferred, row.read) if t is not None]
        elif row.reads == UPCOMING:
            upcoming.append(Upcoming(as_utc(row.due), row.account_id, row.id, row.kind, row.attempts,
                                     row.grace_seconds, bool(row.misconfigured)))
        else:
            found.append((row.id, row.account_id, row.reads))
    found.sort()
    cut_after = found[cap - 1][1] if cap is not None and len(found) > cap else None  # one more than the cap read
    for _, account_id, reads in found[:cap]:
        if reads & _DUE:
            accounts.add(account_id)
        if reads & _READING:
            reading.add(account_id)
    upcoming.sort()
    known = until if len(upcoming) < AHEAD else upcoming[-1][0]
    if len(upcoming) >= AHEAD:  # cut at its size: the posts of the last due time may be only some of them
        upcoming = [u for u in upcoming if u.due_at < known]
    known = min([known, *others])
    if not upcoming and times:  # nothing comes due within the look-ahead: nothing to know before the next due time
        known = max(known, min(times))
    return Tick(sorted(accounts), min(times) if times else None, frozenset(reading), tuple(upcoming),
                known if ahead is not None else None, cut_after)


def due_among(conn: Connection, accounts: Iterable[str], now: datetime) -> set[str]:
    """Which of these accounts have posts due now that may post, as the tick's `Tick.accounts` (a reach pass
    lets such an account post first): on the account's index, for these accounts only (a wave's 100,000
    supporters with boosts due are not read)."""
    wanted = sorted(set(accounts))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # bounded IN lists (SQLite's variables)
        found.update(conn.scalars(_DUE_AMONG, {"b_now": now, "b_accounts": wanted[start:start + 500]}))
    return found


def _due_among_statement() -> Any:
    now = bindparam("b_now", type_=UTCDateTime())
    return (select(D.account_id).join(CAMPAIGNS, C.id == D.campaign_id)
            .where(D.account_id.in_(bindparam("b_accounts", expanding=True)), runnable(now), ~stopped(),
                   ~account_blocked(now)).distinct())


_DUE_AMONG = _due_among_statement()


def due_accounts(conn: Connection, now: datetime) -> list[str]:
    """Every account with posts due now (the tick's other half, two index probes, costs next to nothing)."""
    return tick(conn, now).accounts


def next_due_at(conn: Connection, now: datetime) -> datetime | None:
    """The tick's next due time (its other half is the due-accounts read: run_once and the planner's log)."""
    return tick(conn, now).next_due
