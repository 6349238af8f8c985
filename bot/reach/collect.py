"""One collection pass: for each account, the target's answers first (they matter most), then the counts of
its posts due a reading, within its read budget.

Posting has priority: an account with posts due now, or held (rate limited, disabled), is not read this
pass; reads run in their own scheduler job, never on an account's sending thread, and spend their own
budget. A read that fails is retried on a later pass (reach_accounts.retry_at) and marks nothing failed: no
delivery and no account state is ever written here.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.clock import as_utc
from bot.errors import ConfigError
from bot.networks.base import Misconfigured, NetworkError, NetworkLookup, RateLimited
from bot.networks.reading import Counts, MentionsPage, Reader, ReadNotAvailable
from bot.outbox import claim
from bot.outbox import tick as ticks
from bot.outbox.link import Link
from bot.reach import responses, schedule
from bot.reach.schedule import DuePost
from bot.reach.tables import READERS, SNAPSHOTS
from bot.store.deps import Database

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler


log = logging.getLogger(__name__)
COLLECT_SECONDS = 30
"""How often the daemon reads: a target's answer to an account that had answers lately, or that published after
a silence, is recorded within a minute (see QUIET_MAX for the others)."""
QUIET_FIRST = timedelta(seconds=2 * COLLECT_SECONDS)
"""After a read that brought nothing new, the account's next read waits this long (then twice as long, and so
on): answers pile up while it waits, none is lost, and the read right after a new round of posts rarely finds
any (it comes within 30 s of the first post). Starting from one pass, the steady benchmark's 100 accounts were
each read at 30, 60 and 120 s of a 150 s round (300 reads, about 0.5 ms of CPU a delivery); now at 30 and 90 s."""
QUIET_MAX = timedelta(minutes=8)
"""An account whose mentions brought nothing new is read less and less often (the interval doubles from
QUIET_FIRST up to this), so reading costs in proportion to what is found, not per account per pass. Any
answer brings it back to every pass; so does a post after a silence (it published nothing between its last two
reads): a new round of posts. An account that keeps publishing while nothing comes back backs off like any
other (it was read every 30 s for as long as it published: with posts every few minutes, always)."""
RETRY_AFTER_ERROR = timedelta(minutes=5)
RETRY_RATE_LIMITED = timedelta(minutes=15)
RETRY_UNAVAILABLE = timedelta(days=1)


class Reach(Database, NetworkLookup, Protocol):
    """What reading back needs: the database, the clock and each account's adapter."""


@dataclass
class Quiet:
    """The daemon's backoff for accounts whose mentions bring nothing new (in memory: a restart reads them all
    once, which costs one pass)."""

    next_read: dict[str, tuple[datetime, timedelta, datetime | None, bool]] = field(default_factory=dict)
    """account -> (not before, the current interval, its latest post at its last read, whether it had published
    nothing between its last two reads)."""
    readings_from: datetime | None = None
    """No post is due a reading before this (the last look at every published post said so): until then a pass
    does not look again. A post published since is first due STEPS[0] after it, never sooner than this; one
    recorded sent late with an earlier time (read back after a crash), or a closed campaign's post whose daily
    readings resume when it is reopened, is read at the next look: at most STEPS[0] late."""

    def waits(self, account_id: str, now: datetime, latest_post: datetime | None) -> bool:
        found = self.next_read.get(account_id)
        if found is None:
            return False
        not_before, _, seen_post, silent = found
        if silent and latest_post is not None and (seen_post is None or latest_post > seen_post):
            del self.next_read[account_id]  # it published after a silence: answers come now
            return False
        return now < not_before

    def heard(self, account_id: str, now: datetime, found: int, latest_post: datetime | None) -> None:
        if found:
            self.next_read.pop(account_id, None)
            return
        before = self.next_read.get(account_id)
        if before is None:
            interval, seen_post = QUIET_FIRST, None
        else:
            _, interval, seen_post, _ = before
            interval = min(interval * 2, QUIET_MAX)
        silent = before is not None and latest_post == seen_post  # nothing published since the previous read
        self.next_read[account_id] = (now + interval - timedelta(seconds=1), interval, latest_post, silent)


@dataclass
class Pass:
    """What one pass did, for `report --refresh` and the logs."""

    snapshots: int = 0
    responses: int = 0
    others: int = 0
    notes: list[str] = field(default_factory=list)


def collect(app: Reach, *, campaign: str | None = None, force: bool = False, quiet: Quiet | None = None) -> Pass:
    """Read what is due (``force``: every published post of ``campaign``, or of every campaign, now: even
    before the retry time a failed read set, since the user may have fixed the cause; still within the read
    budget). ``quiet``: the daemon's backoff for accounts with nothing due a reading and nothing new lately."""
    now = app.clock.now()
    done = Pass()
    memo = quiet is not None and campaign is None and not force
    with Link(app.engine, auto=True) as link:  # one connection for the pass; none held in a transaction across a read
        look = not (memo and quiet is not None and quiet.readings_from is not None and now < quiet.readings_from)
        due, soonest, listening, latest, busy, states = link.run(
            lambda conn: _pass_reads(conn, now, campaign, force, look, latest=quiet is not None))
        if memo and quiet is not None and look:
            quiet.readings_from = None if due else soonest  # due ones not read now are looked for again
        posts: dict[tuple[str, str], list[DuePost]] = defaultdict(list)
        for post in due:
            posts[(post.account_id, post.network)].append(post)
        for account_id, network in sorted(set(posts) | set(listening)):
            state, net = states.get(account_id), _network(app, account_id)
            if net is None:
                continue  # the console, or an account no longer in the config: nothing to read
            if account_id in busy:
                done.notes.append(f"{account_id}: not read now (posts are due or the account is held; posting first)")
            elif state is not None and state.unavailable and state.retry_at and as_utc(state.retry_at) > now:
                continue  # said once, when it was found out
            elif not force and state is not None and state.retry_at and as_utc(state.retry_at) > now:
                done.notes.append(f"{account_id}: read again after {as_utc(state.retry_at):%H:%M} UTC "
                                  f"({state.last_error or 'waiting'})")
            elif (quiet is not None and not posts.get((account_id, network))
                  and quiet.waits(account_id, now, latest.get(account_id))):
                continue  # nothing due a reading, and its mentions brought nothing new lately
            else:
                before = done.responses + done.others
                _read_account(app, link, net, account_id, network, posts.get((account_id, network), []), done)
                if quiet is not None:
                    quiet.heard(account_id, now, done.responses + done.others - before, latest.get(account_id))
    return done


def _pass_reads(conn: Connection, now: datetime, campaign: str | None, force: bool, look: bool,
                latest: bool) -> tuple[list[DuePost], datetime | None, list[tuple[str, str]], dict[str, datetime],
                                       set[str], dict[str, Any]]:
    """What a pass reads first, in one transaction: the posts due a reading (``look``: else none, known), the
    accounts listened to, their latest posts (``latest``), the accounts posting or held, the reading states."""
    due, soonest = schedule.readings(conn, now, campaign=campaign, force=force) if look else ([], None)
    listening = schedule.answered_accounts(conn, now)
    read = {p.account_id for p in due} | {account for account, _ in listening}  # the accounts this pass may read
    return (due, soonest, listening, schedule.latest_posts(conn, read) if latest else {},
            ticks.due_among(conn, read, now) | claim.blocked_accounts(conn, now),
            {r.account_id: r for r in conn.execute(select(READERS))})


def _heard(conn: Connection, account_id: str, network: str, page: MentionsPage, cursor: str | None,
           now: datetime) -> tuple[int, int]:
    """What a read found: the targets' answers stored, the others counted, the cursor moved, an error cleared."""
    stored, others = responses.record(conn, account_id, network, page.mentions, now)
    schedule.update_reader(conn, account_id, now, cursor=page.cursor or cursor, last_error=None, retry_at=None,
                           others_answers=func.coalesce(READERS.c.others_answers, 0) + others)
    return stored, others


def _network(app: Reach, account_id: str) -> Reader | None:
    """The account's adapter when it can read back (the console cannot)."""
    try:
        net = app.network(account_id)
    except (Misconfigured, ConfigError):
        return None
    return net if isinstance(net, Reader) else None


def _read_account(app: Reach, link: Link, net: Reader, account_id: str, network: str, posts: list[DuePost],
                  done: Pass) -> None:
    """The account's mentions, then the counts of its posts due a reading. A read that finds nothing new on an
    account with no error to clear writes nothing but its reservation: one statement, on the pass's connection."""
    batch = schedule.BATCH.get(network, 20)
    now = app.clock.now()
    reads = 1 + math.ceil(len(posts) / batch)
    state = link.once(lambda conn: schedule.take_reads(conn, account_id, network, reads, now))
    granted = reads
    if state is None:  # fewer reads left than wanted
        granted, state = link.run(lambda conn: schedule.reserve(conn, account_id, network, reads, now))
    if granted == 0:
        done.notes.append(f"{account_id}: its read budget is spent for now; the rest is read on a later pass")
        return
    cursor = state.cursor
    try:
        page = net.mentions(cursor)
        moved = page.cursor is not None and page.cursor != cursor
        if page.mentions or moved or state.last_error is not None or state.retry_at is not None:
            stored, others = link.run(lambda conn: _heard(conn, account_id, network, page, cursor, now))
            done.responses += stored
            done.others += others
        wanted = posts[:(granted - 1) * batch]
        if len(wanted) < len(posts):
            done.notes.append(f"{account_id}: {len(posts) - len(wanted)} post(s) wait for the read budget")
        if wanted:
            counts = net.counts([p.remote_id for p in wanted])
            done.snapshots += link.run(lambda conn: _snapshots(conn, wanted, counts, app.clock.now()))
    except ReadNotAvailable as exc:
        _unavailable(app, link, account_id, str(exc), done)
    except NetworkError as exc:
        wait = RETRY_RATE_LIMITED if isinstance(exc, RateLimited) else RETRY_AFTER_ERROR
        until = exc.until if isinstance(exc, RateLimited) and exc.until else app.clock.now() + wait
        log.info("account %s: reading back failed (%s); trying again after %s", account_id, exc, until)
        error = str(exc)[:500]
        link.run(lambda conn: schedule.update_reader(conn, account_id, app.clock.now(), retry_at=until,
                                                     last_error=error))
        done.notes.append(f"{account_id}: read failed ({exc}); retried later")


def _unavailable(app: Reach, link: Link, account_id: str, why: str, done: Pass) -> None:
    """Recorded and said once (not an error); asked again a day later in case the tier changed."""
    now = app.clock.now()

    def mark(conn: Connection) -> bool:
        first = schedule.reader(conn, account_id, now).unavailable is None
        schedule.update_reader(conn, account_id, now, unavailable=why, retry_at=now + RETRY_UNAVAILABLE)
        return first

    first = link.run(mark)
    if first:
        log.info("account %s: counts and mentions %s", account_id, why)
        done.notes.append(f"{account_id}: {why}")


def _snapshots(conn: Connection, posts: list[DuePost], counts: dict[str, Counts], now: datetime) -> int:
    """One snapshot per post read; a post the network no longer shows keeps its last counts (and is not read
    again before its next step)."""
    rows = []
    for post in posts:
        found = counts.get(post.remote_id)
        if found is None:
            last = conn.execute(select(SNAPSHOTS).where(SNAPSHOTS.c.delivery_id == post.delivery_id)
                                .order_by(SNAPSHOTS.c.collected_at.desc()).limit(1)).first()
            found = Counts(last.reposts, last.likes, last.replies, last.quotes) if last else Counts()
        rows.append({"delivery_id": post.delivery_id, "collected_at": now, "reposts": found.reposts,
                     "likes": found.likes, "replies": found.replies, "quotes": found.quotes})
    if rows:
        conn.execute(SNAPSHOTS.insert(), rows)
    return len(rows)


def job(app: Reach) -> Callable[[], None]:
    """The daemon's periodic collection; a database outage is logged and the next tick tries again."""

    quiet = Quiet()

    def run() -> None:
        try:
            done = collect(app, quiet=quiet)
        except OperationalError as exc:
            log.warning("reach: database unavailable (%s); next pass in %ss", exc.orig, COLLECT_SECONDS)
            return
        except SQLAlchemyError:
            log.exception("reach: collection failed; next pass in %ss", COLLECT_SECONDS)
            return
        if done.snapshots or done.responses:
            log.info("reach: %d reading(s), %d answer(s) from a target", done.snapshots, done.responses)

    return run


def attach(scheduler: BaseScheduler, app: Reach) -> None:
    """Add the collection job to the daemon's scheduler (stable id: one copy whatever the restarts)."""
    scheduler.add_job(job(app), "interval", seconds=COLLECT_SECONDS, id="reach", replace_existing=True)
