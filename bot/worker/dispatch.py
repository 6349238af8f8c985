"""The dispatcher: a short loop per account - claim, prepare, publish, decide, record.

The network is called outside any transaction. A delivery is claimed right before its network call, so a
dead worker holds one delivery per account; its outcome is written only while this worker still holds the
lease. What to record is decided by the pure policy (bot/outbox/policy.py); every delivery write is the
outbox's (bot/outbox/).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from bot.clock import as_utc
from bot.errors import ConfigError
from bot.networks.base import (
    AuthRevoked,
    Media,
    Misconfigured,
    Network,
    OutcomeUnknown,
    PermanentError,
    Post,
    Published,
    RateLimited,
    TransientError,
)
from bot.outbox import budgets, claim, record, workers
from bot.outbox import tick as ticks
from bot.outbox.claim import Claimed
from bot.outbox.link import Link
from bot.outbox.policy import Answer, Decision, Retry, decide
from bot.states import Action, Status
from bot.store.account_locks import AccountLocks, Hold, idle_keep
from bot.worker import recovery
from bot.worker.links import SenderLinks
from bot.worker.runtime import Runtime
from bot.worker.sending import log_outcome, performer, read_before_resend, stored_length

log = logging.getLogger(__name__)
BATCH = 20
MAX_PASSES = 50  # run_once: a bound, never reached by a finite set of due posts
HELD = "held"  # send() outcome: back to planned because the account cannot post for now

__all__ = ["BATCH", "HELD", "Claimed", "Dispatcher"]


class Dispatcher:
    def __init__(self, app: Runtime, stopping: threading.Event | None = None) -> None:
        self.app = app
        self.stopping = stopping or threading.Event()
        self.settings = app.config.bot
        self.retry = Retry(self.settings.retry_base_seconds, self.settings.retry_max_seconds,
                           self.settings.max_attempts)
        self._rng = random.Random()  # spreads retries in time; nothing secret depends on it  # nosec B311
        self.budgets = budgets.BudgetBook()
        self._reads: set[str] = set()
        """Accounts whose next run first reads back posts whose outcome is unknown (found by the tick)."""
        self._reads_lock = threading.Lock()
        self._after: str | None = None  # where the last tick cut at its cap stopped
        self.locks = AccountLocks(app.engine, keep=idle_keep(self.settings.concurrency), stopping=self.stopping)
        self.links = SenderLinks(app.engine)  # each sender thread's kept connection
        self._postgres = app.engine.dialect.name == "postgresql"

    @contextmanager
    def _link(self, link: Link | None) -> Iterator[Link]:
        """The caller's link, or a link of our own for the length of the block."""
        if link is not None:
            yield link
            return
        with Link(self.app.engine, auto=True) as own:
            yield own

    # -- what is due ---------------------------------------------------------------------------------------

    def tick(self, now: datetime, link: Link | None = None, ahead: timedelta | None = None,
             cap: int | None = None) -> ticks.Tick:
        """The accounts due now and the next due time after now: one statement (the daemon's tick); ``ahead``:
        with the posts coming due up to now + ahead; ``cap``: ``cap`` accounts at most, in turn (a tick cut
        at its cap goes on where the last cut one stopped). The accounts with posts to read back are
        remembered: their next run reads them first."""
        with self._link(link) as own:
            found = own.once(lambda conn: ticks.tick(conn, now, ahead, cap, self._after))
        self._after = found.cut_after
        if found.reading:
            with self._reads_lock:
                self._reads |= found.reading
        return found

    def due_accounts(self, now: datetime | None = None, link: Link | None = None) -> list[str]:
        with self._link(link) as own:
            return own.once(lambda conn: ticks.due_accounts(conn, now or self.app.clock.now()))

    def next_due_at(self, after: datetime | None = None, link: Link | None = None) -> datetime | None:
        """The next time a post comes due, strictly after ``after`` (default: now)."""
        with self._link(link) as own:
            return own.once(lambda conn: ticks.next_due_at(conn, after or self.app.clock.now()))

    def _due_batch(self, link: Link, account_id: str, limit: int, known: list[Any] | None = None) -> list[Any]:
        """Up to ``limit`` due rows of the account (one statement), within its rate budget (from memory).
        ``known``: the rows the daemon's tick read ahead, come due now, none past its grace window: taken as
        they are (no statement)."""
        now = self.app.clock.now()
        windows = self.app.accounts.budget(account_id)  # none in console mode: nothing is published
        rows: list[Any] | None = None
        if windows and not known and self.budgets.unread(account_id, windows):  # the batch and the counts: one read
            found, used = link.once(lambda conn: claim.due_batch_counted(conn, account_id, now, limit,
                                                                         budgets.window_starts(windows, now)))
            if used is None:
                return []  # nothing due
            rows = list(found)
            self.budgets.counted(account_id, used)
        if windows:
            allowance, hold = link.once(lambda conn: self.budgets.allowance(conn, account_id, windows, now))
            if hold is not None:
                link.run(lambda conn: budgets.defer(conn, account_id, now, hold))
                log.info("account %s over its rate budget: posts deferred until %s", account_id, hold)
                return []
            limit = min(limit, allowance) if allowance is not None else limit
        if known:
            return known[:limit]
        if rows is not None:
            return rows[:limit]
        return list(link.once(lambda conn: claim.due_batch(conn, account_id, now, limit)))

    def _take(self, link: Link, account_id: str, rows: list[Any]) -> list[Claimed]:
        now = self.app.clock.now()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        return link.once(lambda conn: claim.take(conn, self.app.owner, rows, account_id, now, lease_until))

    def _take_one(self, link: Link, account_id: str, row: Any) -> Claimed | None:
        now = self.app.clock.now()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        return link.once(lambda conn: claim.take_one(conn, self.app.owner, row, account_id, now, lease_until))

    def claim_batch(self, account_id: str, limit: int) -> list[Claimed]:
        """Claim up to ``limit`` due deliveries at once (tests and the claim benchmark; the loop takes one
        at a time, right before sending it)."""
        with Link(self.app.engine, auto=True) as link:
            return self._take(link, account_id, self._due_batch(link, account_id, limit))

    def claim_next(self, account_id: str) -> Claimed | None:
        batch = self.claim_batch(account_id, 1)
        return batch[0] if batch else None

    def release(self, claimed: list[Claimed], why: str) -> None:
        """Give back claimed rows that were not sent; the attempt did not count."""
        if claimed:
            now = self.app.clock.now()
            with Link(self.app.engine, auto=True) as link:
                link.once(lambda conn: claim.release(conn, self.app.owner, [c.id for c in claimed], now, why))
            log.info("released %d claimed deliveries: %s", len(claimed), why)

    # -- one delivery --------------------------------------------------------------------------------------

    def prepare(self, c: Claimed, link: Link | None = None) -> Post:
        """The post to publish; a reply goes under the account's last published post of the campaign."""
        reply = None
        if c.reply_in_thread:
            with self._link(link) as own:
                reply = own.once(lambda conn: record.thread_parent(conn, c))
        taken: frozenset[str] = frozenset()
        if c.attempts > 1 and c.action == Action.POST:  # a retry may read the account back first (rare: not per post)
            taken = self._taken(c, link)
        return Post(delivery_id=c.id, idempotency_key=self.app.post_key(c.id), text=c.text, language=c.language,
                    in_reply_to=reply, media=tuple(Media(path=Path(m["path"]), alt=m["alt"]) for m in c.media),
                    scheduled_at=c.due_at, attempt=c.attempts, taken=taken)

    def _taken(self, c: Claimed, link: Link | None) -> frozenset[str]:
        """The remote ids the account's other posts hold: reading back, none of them is this post."""
        since = as_utc(c.due_at) - recovery.TAKEN_WINDOW
        with self._link(link) as own:
            return frozenset(own.once(lambda conn: workers.taken(conn, c.account_id, since)))

    def send(self, c: Claimed, post: Post | None = None, link: Link | None = None) -> str:
        """Publish, decide, record; returns the delivery's new status (HELD: the account cannot post now)."""
        decision = self._send(c, post, link)
        return HELD if decision.stops_account and decision.status == Status.PLANNED else str(decision.status)

    def _send(self, c: Claimed, post: Post | None, link: Link | None) -> Decision:
        post = post or self.prepare(c, link)
        try:
            net: Network | None = self.app.network(c.account_id)
        except (Misconfigured, ConfigError) as exc:  # not in the directory any more: nothing can be sent
            net, answer, error, until, published = None, Answer.MISCONFIGURED, str(exc), None, None
        if net is not None:
            instead = read_before_resend(self.app, net, c, post)
            answer, error, until, published = (self._publish(net, c, post) if instead is None
                                               else (instead[0], instead[1], None, instead[2]))
            if answer in (Answer.OUTCOME_UNKNOWN, Answer.UNEXPECTED) and not net.idempotent:
                if c.action == Action.POST and not post.taken:
                    post = replace(post, taken=self._taken(c, link))
                seen = recovery.settle(self.app, c.account_id, post, c.action)  # never retried blindly: read it back
                if seen is not None and seen.published is not None:
                    answer, published = Answer.PUBLISHED, seen.published
                elif seen is not None and seen.certain:  # it surely did not go out: an ordinary retry
                    answer, error = Answer.TRANSIENT, f"{error} (the account shows it did not go out)"
        now = self.app.clock.now()
        decision = decide(answer, error, delivery_id=c.id, idempotent=net is None or net.idempotent,
                          attempts=c.attempts, retry=self.retry, now=now, jitter=self._rng.random(), until=until)
        self._write(link, lambda conn: record.record(conn, self.app.owner, c, decision, now, published,
                                                     post.in_reply_to, reason=error),
                    f"record delivery {c.id} as {decision.status}", single=decision.hold is None)
        if decision.status == Status.PLANNED and (decision.maybe_sent or c.in_doubt):  # rare: an answer lost
            self._write(link, lambda conn: record.recheck_doubt(conn, c, now), f"re-check delivery {c.id}",
                        single=True)
        log_outcome(c, answer, decision, published)
        return decision

    def _publish(self, net: Network, c: Claimed, post: Post) -> tuple[Answer, str, datetime | None, Published | None]:
        """Call the network and classify what it said (adapters raise the classified NetworkErrors)."""
        try:
            perform = performer(net, c.action)
            if perform is None:
                return Answer.UNSUPPORTED, f"the {net.kind} adapter cannot {c.action}", None, None
            if c.action == Action.POST and (length := stored_length(net, c, post)) > (limit := net.limit()):
                return Answer.TOO_LONG, f"{length} characters, over the account's limit of {limit}", None, None
            return Answer.PUBLISHED, "", None, perform(post)
        except RateLimited as exc:
            return Answer.RATE_LIMITED, str(exc), exc.until, None
        except (Misconfigured, ConfigError) as exc:  # a secret could not be read: nothing was sent
            return Answer.MISCONFIGURED, str(exc), None, None
        except TransientError as exc:
            return Answer.TRANSIENT, str(exc), None, None
        except PermanentError as exc:
            return Answer.PERMANENT, str(exc), None, None
        except AuthRevoked as exc:
            return Answer.AUTH_REVOKED, str(exc), None, None
        except OutcomeUnknown as exc:
            return Answer.OUTCOME_UNKNOWN, str(exc), None, None
        except Exception as exc:  # an adapter bug: classified conservatively; the traceback for programmers
            log.exception("delivery %s: unexpected error from the %s adapter", c.id, net.kind)
            return Answer.UNEXPECTED, f"unexpected error: {exc!r}", None, None

    def _write(self, link: Link | None, step: Callable[[Connection], object], what: str, single: bool) -> None:
        """After a network call, keep trying to record its outcome through a database outage for as long as the
        lease lasts, so a short outage never turns a sent post into a resend or an unknown. ``single``: one
        statement (autocommit on the hot path), else a transaction."""
        deadline, delay = time.monotonic() + self.settings.lease_seconds * 0.8, 0.5
        with self._link(link) as own:
            broken = False
            while True:
                try:
                    if broken:  # a fresh connection, tried like the write (it fails while the database is down)
                        own.reconnect()
                        broken = False
                    (own.once if single else own.run)(step)
                    return
                except OperationalError as exc:
                    if time.monotonic() > deadline:
                        log.error("could not %s: database unavailable (%s); the lease will expire", what, exc.orig)
                        raise
                    log.debug("could not %s yet: database unavailable; retrying in %.1fs", what, delay)
                    time.sleep(delay)
                    delay = min(delay * 2, 5)
                    broken = True

    # -- loops ---------------------------------------------------------------------------------------------

    def expire_leases(self, probe: Link | None = None) -> int:
        """Take over what dead workers held (heartbeats stopped, or leases expired): read back by each
        account's next run. ``probe``: see recovery.recover."""
        return recovery.recover(self.app, probe)

    def run_account(self, account_id: str, limit: int | None = None, known: list[Any] | None = None) -> int:
        """Send what is due for one account, in order, until nothing is due (or we are told to stop).

        With several workers on PostgreSQL, an advisory lock gives each account to one worker at a time (held
        on the worker's lock connection, kept for the account's next run); the work runs on the sender
        thread's own kept connection. ``known``: its posts the daemon's tick read ahead, come due now (their
        due times passed since: the run takes them without reading them again)."""
        hold = self.locks.take(account_id)
        if hold is None:
            return 0
        if hold.fresh:
            self.budgets.forget(account_id)  # another worker may have sent for it since we last held it
        try:
            with self.links.work() as link:
                return self._run_account(link, account_id, limit, hold, known)
        finally:
            self.locks.give_back(hold)

    def _run_account(self, link: Link, account_id: str, limit: int | None, hold: Hold | None = None,
                     known: list[Any] | None = None) -> int:
        """``hold``: the account's lock; once lost (its connection died), the run ends before its next claim
        (another worker may hold the account now). ``known``: see run_account; they are every post of the
        account due now (any other would have woken the daemon for a tick of its own)."""
        done, cleared = 0, False
        with self._reads_lock:
            reads = account_id in self._reads
            self._reads.discard(account_id)
        if reads:  # on the account's own thread and connection: one adapter is never used by two at once
            recovery.settle_account(self.app, link, account_id, self.app.clock.now())
        first = known is None and self._postgres  # no rows handed: claim the first with the due read
        while not self.stopping.is_set() and (limit is None or done < limit):
            if first and hold is not None and not self.locks.holds(hold):
                log.warning("account %s: its lock was lost with its connection; the rest waits", account_id)
                return done
            got = self._take_first(link, account_id) if first else None
            first = False
            if got is not None:
                done += 1
                decision, cleared = self._deliver(link, account_id, got.claimed, got.misconfigured, cleared)
                if decision.stops_account or not got.more:  # the account cannot post now, or nothing else is due
                    return done
                continue
            size = min(BATCH, limit - done) if limit else BATCH
            ahead = bool(known) and not claim.any_stale(known or [], self.app.clock.now())
            rows = self._due_batch(link, account_id, size, known if ahead else None)
            known = None  # read ahead: this pass's rows were all that is due
            took = 0
            for row in rows:
                if self.stopping.is_set():
                    return done
                if hold is not None and not self.locks.holds(hold):
                    log.warning("account %s: its lock was lost with its connection; the rest waits", account_id)
                    return done
                claimed = self._take_one(link, account_id, row)
                if claimed is None:
                    continue  # closed, paused or stopped since the batch was read: not sent
                took += 1
                done += 1
                decision, cleared = self._deliver(link, account_id, claimed, bool(row.misconfigured), cleared)
                if decision.stops_account:  # the account cannot (or should not) post now: the rest waits
                    return done
            if ahead or not took or len(rows) < size:  # a short batch was all that was due: no second read
                break
        return done

    def _take_first(self, link: Link, account_id: str) -> claim.First | None:
        """The account's first due post claimed with its due read and its budget's counts, in one statement
        (PostgreSQL: claim.take_first); None: the run reads its batch as always."""
        now = self.app.clock.now()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        windows = self.app.accounts.budget(account_id)
        budget = list(zip(budgets.window_starts(windows, now), (w.posts for w in windows), strict=True))
        got = link.once(lambda conn: claim.take_first(conn, self.app.owner, account_id, now, lease_until, budget))
        if got is not None and windows:
            self.budgets.counted(account_id, got.used)  # as they were before this claim
        return got

    def _deliver(self, link: Link, account_id: str, claimed: Claimed, misconfigured: bool,
                 cleared: bool) -> tuple[Decision, bool]:
        """Send a claimed post, record it, count it; a send that works clears a misconfigured mark (once a
        run: ``cleared``, returned)."""
        decision = self._send(claimed, None, link)
        if decision.status == Status.SENT:
            self.budgets.sent(account_id)
            if misconfigured and not cleared:
                cleared = True
                link.once(lambda conn: record.clear_misconfigured(conn, account_id, self.app.clock.now()))
        return decision, cleared

    def run_once(self) -> int:
        """Send everything due now, sequentially: what tests call instead of waiting for the daemon. Passes
        until one sends nothing (what a send adds, a closing message after a close, comes in the next pass,
        as the daemon's next wake-up would send it). Reads the budgets afresh (a test may have changed the
        database between calls) and gives back the accounts' locks."""
        self.budgets.forget()
        total = 0
        try:
            for _ in range(MAX_PASSES):
                self.expire_leases()  # what the daemon's recovery does every few seconds, before each pass
                done = sum(self.run_account(a) for a in self.tick(self.app.clock.now()).runs)
                total += done
                if not done or self.stopping.is_set():
                    break
            return total
        finally:
            self.close()

    def close(self) -> None:
        """Give back the accounts' locks and close the kept connections."""
        self.locks.close()
        self.links.close()
