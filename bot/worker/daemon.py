"""`campaign-bot run`: one process whose jobs are derived from the database.

- dispatch: a loop of its own (bot/wakeups.py) that wakes exactly when the next post is due, at once when a
  due time passed during a tick, when another process commits due rows (LISTEN/NOTIFY on PostgreSQL), and
  at the latest every poll_seconds (the safety tick). Each account with due posts goes to a thread pool:
  accounts run concurrently, posts within an account in order; an account still busy when it is due again
  runs again as soon as it finishes.
- periodic jobs on a BlockingScheduler (in-memory job store, stable ids, so nothing is duplicated across
  restarts): plan (at start, every few minutes), watch (campaign files changed: plan again). Adding one is
  a method that catches database errors (see plan_job) and one `self._every(...)` line in `run`.
SIGTERM/SIGINT: stop claiming, let the sends in flight finish, exit 0.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.errors import ConfigError
from bot.outbox import tick as ticks
from bot.outbox import workers
from bot.outbox.link import Link
from bot.outbox.tick import Upcoming
from bot.reach import collect as reach
from bot.store.db import is_sqlite
from bot.store.locks import beside_database, open_lock_file
from bot.worker.dispatch import Dispatcher
from bot.worker.outage import OutageLog
from bot.worker.plan import plan
from bot.worker.runtime import Runtime
from bot.worker.wakeups import DueListener, Waker

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0  # after a tick failed unexpectedly, the next one (sooner than the safety tick)
PLAN_RETRY_SECONDS = 5.0  # after a plan skipped because another process held the planner's lock


def _files_signature(directory: Path) -> frozenset[tuple[str, int, int]]:
    """Names, mtimes and sizes of the campaign files: one stat each (scandir caches it)."""
    try:
        with os.scandir(directory) as entries:
            return frozenset((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries
                             if e.name.endswith(".toml"))
    except OSError:
        return frozenset()


class SingleWorkerLock:
    """SQLite supports one worker: a second `run` on the same database file is refused."""

    def __init__(self, app: Runtime) -> None:
        self.handle: IO[str] | None = None
        self.path = beside_database(app.engine, ".worker.lock")

    def acquire(self) -> None:
        if self.path is None:
            return
        self.handle = open_lock_file(self.path, "worker lock")  # held for the life of the process
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            raise ConfigError(f"another campaign-bot worker ({holder}) already runs on this SQLite database; "
                              "SQLite supports one worker: use PostgreSQL to run several") from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"pid {os.getpid()}")
        self.handle.flush()

    def release(self) -> None:
        """A clean stop removes the file (unlinked while still locked, so no other worker can hold it)."""
        if self.handle is not None and self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


class Daemon:
    def __init__(self, app: Runtime) -> None:
        self.app = app
        self.stopping = threading.Event()
        self.dispatcher = Dispatcher(app, self.stopping)
        self.pool = ThreadPoolExecutor(max_workers=app.config.bot.concurrency, thread_name_prefix="account")
        self.busy: set[str] = set()  # queued or running
        self.again: set[str] = set()  # running, and due again since it started
        self.queued: dict[str, list[Upcoming] | None] = {}  # not started yet: its posts read ahead (None: it reads)
        self.busy_lock = threading.Lock()
        self.waker = Waker()
        self._recovered_at: float | None = None
        poll = app.config.bot.poll_seconds
        self._ahead = timedelta(seconds=min(max(poll, 1.0), 60.0))  # the tick's look-ahead
        self._upcoming: list[Upcoming] = []  # the posts coming due until _known_until, a heap by due time
        self._known_until: datetime | None = None  # None: the next pass is a tick
        self._ticked_at = 0.0
        self._cap = max(ticks.ACCOUNTS, 4 * app.config.bot.concurrency)  # accounts a tick reads at most
        self._cut = False  # the last tick was cut at its cap: tick again once the senders want more
        self._tick_link: Link | None = None  # the dispatch loop's own connection, kept between ticks
        self._beat_link: Link | None = None  # the heartbeat's own connection, kept between beats
        self.scheduler = BlockingScheduler(
            executors={"default": JobExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
            timezone="UTC",
        )
        self._signature = _files_signature(app.config.campaigns_dir)
        self._announced = False
        self.outage = OutageLog(log)

    # Each job catches database errors so that an outage is logged (once, see OutageLog) and retried on the
    # next tick, instead of killing the job (APScheduler would only log it) or the process.
    def plan_job(self) -> None:
        try:
            report = plan(self.app)
            if report.busy:  # another process held the planner's lock for a moment: our turn comes soon, not
                # at the next interval (the web app storing the files as a worker starts must not cost minutes)
                retry_at = self.app.clock.now() + timedelta(seconds=PLAN_RETRY_SECONDS)
                self.scheduler.add_job(self.plan_job, "date", run_date=retry_at, id="plan-retry",
                                       replace_existing=True)
                return
            for issue in report.issues:
                if issue.severity == "warning":
                    log.warning("%s", issue)
            if not self._announced:
                self._announced = True
                when = self.dispatcher.next_due_at()
                log.info("next post: %s", when.isoformat(timespec="seconds") if when else "none planned")
            self.outage.ok()
        except OperationalError as exc:
            self.outage.failed("plan", exc.orig)
        except SQLAlchemyError:
            log.exception("plan failed; will retry")
        self.waker.wake_now()  # what the plan added may be due soon: the tick sets the wake-up

    def watch_job(self) -> None:
        signature = _files_signature(self.app.config.campaigns_dir)
        if signature != self._signature:
            self._signature = signature
            log.info("campaign files changed: reloading")
            self.plan_job()

    def dispatch_job(self) -> None:
        """Hand each account with something due to the pool, then set the next wake-up.

        A tick (one statement) reads the accounts due now, the posts coming due in the next few seconds (the
        look-ahead) and the next due time; until the look-ahead's end, the wake-ups it sets run each account
        when its post comes due without reading anything (the run takes the rows the tick read; an account
        due now by the tick's own reading reads its due posts, as always).
        A tick runs again at the look-ahead's end, at least every poll_seconds, and at once when woken from
        outside (a NOTIFY of new due rows, a plan, a stop): so in steady state a post costs no tick of its own.
        What dead workers held is settled every few seconds."""
        if self.stopping.is_set():
            return
        started = self.app.clock.now()
        full = self._tick_due(started)
        try:
            if self._recovered_at is None or time.monotonic() - self._recovered_at >= workers.HEARTBEAT_SECONDS:
                self._recover()
                self._recovered_at = time.monotonic()
            tick = self.dispatcher.tick(started, self._tick(), ahead=self._ahead, cap=self._cap) if full else None
            self.outage.ok()
        except OperationalError as exc:
            self.outage.failed("dispatch", exc.orig)
            self._drop_tick_link()
            self._known_until = None  # the next pass is a tick
            return
        self.dispatcher.locks.sweep()
        runs: dict[str, list[Upcoming] | None] = {}  # None: the account's run reads what is due
        if tick is not None:
            self._ticked_at = time.monotonic()
            self._upcoming = list(tick.upcoming)  # sorted: a heap already
            self._known_until = tick.known_until
            runs.update((account_id, None) for account_id in tick.runs)
        while self._upcoming and self._upcoming[0].due_at <= started:
            come = heapq.heappop(self._upcoming)
            known = runs.setdefault(come.account_id, [])
            if known is not None:
                known.append(come)
        self._submit(runs, None if tick is None else tick.cut_after is not None)
        wake = [t for t in (self._upcoming[0].due_at if self._upcoming else None, self._known_until,
                            tick.next_due if tick is not None else None) if t is not None]
        if wake:
            self.waker.wake_in((min(wake) - self.app.clock.now()).total_seconds())

    def _tick_due(self, now: datetime) -> bool:
        """Whether this pass reads the database (a tick), or only runs the accounts whose posts came due."""
        poked = self.waker.take_poke()  # woken from outside: something changed
        return (poked or self._known_until is None or now >= self._known_until
                or time.monotonic() - self._ticked_at >= self.app.config.bot.poll_seconds)

    def _submit(self, runs: dict[str, list[Upcoming] | None], cut: bool | None = None) -> None:
        """Each account to the pool (``runs``: with its posts read ahead, or None: its run reads them). ``cut``:
        whether the tick's read was cut at its cap (None: no tick); then the next tick comes as soon as the
        senders are about to run out of queued accounts (`_more`), not at the next interval."""
        waiting = []
        with self.busy_lock:
            self._cut = self._cut if cut is None else cut
            for account_id in sorted(runs):
                known = runs[account_id]
                if account_id in self.queued:  # not started yet: its run will take these too
                    earlier = self.queued[account_id]
                    self.queued[account_id] = None if earlier is None or known is None else earlier + known
                    continue
                if account_id in self.busy:
                    self.again.add(account_id)  # runs again as soon as its current run ends (reading its posts)
                    continue
                self.busy.add(account_id)
                self.queued[account_id] = known
                if len(self.busy) > self.app.config.bot.concurrency:
                    waiting.append(account_id)  # queued for a free sender, not started
                self.pool.submit(self._run_account, account_id)
            more = self._more()
        if waiting:  # no idle lock kept for an account that waits: another worker may run it
            self.dispatcher.locks.release(waiting)
        if more:
            self.waker.wake_now()

    def _more(self) -> bool:
        """Under busy_lock: whether to tick again now for the accounts a cut read did not reach (once)."""
        more = self._cut and len(self.queued) <= self.app.config.bot.concurrency
        self._cut = self._cut and not more
        return more

    def _recover(self) -> None:
        """Recovery, after the first time only when a cheap probe on the tick's kept connection finds a dead
        worker or a run-out lease (the first is a full pass: what a worker that died before we started held)."""
        if self._recovered_at is None:
            self.dispatcher.expire_leases()
        else:
            self.dispatcher.expire_leases(self._tick())

    def amplify_job(self) -> None:
        """Supporters' boosts of published posts (bot/supporters/waves.py), after the dispatch tick."""
        from bot.supporters.waves import tick

        try:
            if tick(self.app).planned:
                self.waker.wake_now()  # the loop's next wake-up takes the new boosts into account
        except OperationalError as exc:
            self.outage.failed("amplify", exc.orig)

    def _run_account(self, account_id: str) -> None:
        with self.busy_lock:
            known = self.queued.pop(account_id, None)
            more = self._more()
        if more:
            self.waker.wake_now()
        while True:
            try:
                self.dispatcher.run_account(account_id, known=known)
            except OperationalError as exc:
                self.outage.failed(f"account {account_id}", exc.orig)
            except Exception:
                log.exception("account %s: dispatch failed; will retry on the next tick", account_id)
            known = None  # a run again reads what is due
            with self.busy_lock:
                if account_id not in self.again or self.stopping.is_set():
                    self.busy.discard(account_id)
                    return
                self.again.discard(account_id)

    def _tick(self) -> Link:
        if self._tick_link is None:
            self._tick_link = Link(self.app.engine, auto=True)
        return self._tick_link

    def _drop_tick_link(self) -> None:
        link, self._tick_link = self._tick_link, None
        if link is not None:
            with contextlib.suppress(SQLAlchemyError):
                link.conn.invalidate()
            with contextlib.suppress(SQLAlchemyError):
                link.close()

    def _dispatch_forever(self) -> None:
        poll = self.app.config.bot.poll_seconds
        while not self.stopping.is_set():
            self.waker.wait(poll, self.stopping)
            try:
                self.dispatch_job()
            except Exception:  # pool exhausted (TimeoutError), a driver's error, a bug: the loop must go on
                log.exception("dispatch tick failed; trying again shortly")
                self._drop_tick_link()
                self._known_until = None
                self.waker.wake_in(min(poll, RETRY_SECONDS))

    def heartbeat(self) -> None:
        """Tell other workers we are alive; when we stop beating they free what we held. On a kept autocommit
        connection (a beat is one UPDATE: no pool checkout, no transaction), dropped when it fails."""
        try:
            if self._beat_link is None:
                self._beat_link = Link(self.app.engine, auto=True)
            link = self._beat_link
            link.once(lambda conn: workers.beat(conn, self.app.owner, self.app.clock.now()))
        except OperationalError as exc:
            self._drop_beat_link()
            self.outage.failed("heartbeat", exc.orig)
        except BaseException:
            self._drop_beat_link()
            raise

    def _drop_beat_link(self) -> None:
        link, self._beat_link = self._beat_link, None
        if link is not None:
            with contextlib.suppress(SQLAlchemyError):
                link.conn.invalidate()
            with contextlib.suppress(SQLAlchemyError):
                link.close()

    def _beat_forever(self) -> None:
        while not self.stopping.wait(workers.HEARTBEAT_SECONDS):
            try:
                self.heartbeat()
            except Exception:  # noqa: BLE001 - a worker that stops beating is declared dead and its posts freed
                log.exception("heartbeat failed; will beat again")

    def _leave(self) -> None:
        try:
            with Link(self.app.engine) as link:
                link.run(lambda conn: workers.leave(conn, self.app.owner))
        except OperationalError as exc:
            log.warning("could not unregister this worker (database unavailable: %s)", exc.orig)

    def _every(self, job: Callable[[], None], seconds: float, job_id: str, now: bool = False) -> None:
        """A periodic job (stable id: never duplicated); ``now``: its first run at start."""
        extra: dict[str, Any] = {"next_run_time": self.app.clock.now()} if now else {}
        self.scheduler.add_job(job, "interval", seconds=seconds, id=job_id, replace_existing=True, **extra)

    def stop(self, signum: int | None = None, _frame: object = None) -> None:
        if not self.stopping.is_set():
            log.info("stopping (%s): finishing the sends in flight", signal.Signals(signum).name if signum else "stop")
        self.stopping.set()
        self.waker.wake_now()
        # The idle accounts' locks go at once (the ones in use go as their sends end): other workers may
        # take those accounts while ours finish.
        with contextlib.suppress(SQLAlchemyError):
            self.dispatcher.locks.close()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def run(self) -> None:
        lock = SingleWorkerLock(self.app) if is_sqlite(self.app.engine) else None
        if lock:
            lock.acquire()
        loop: threading.Thread | None = None
        try:
            s = self.app.config.bot
            self._every(self.plan_job, s.plan_interval_minutes * 60, "plan", now=True)
            self._every(self.watch_job, 2, "watch")
            self._every(self.amplify_job, s.poll_seconds, "amplify")  # supporters' waves (bot/supporters)
            reach.attach(self.scheduler, self.app)  # counts and the target's answers, read back
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
            self.heartbeat()
            threading.Thread(target=self._beat_forever, name="heartbeat", daemon=True).start()
            loop = threading.Thread(target=self._dispatch_forever, name="dispatch", daemon=True)
            self.waker.wake_now()  # the first tick at once
            loop.start()
            DueListener(self.app.engine, self.waker.wake_now, self.stopping).start()
            if self.app.config.alerts:  # bot/alerts: its own thread; never holds a post. Imported only when
                # alerts are configured: its queue, checks and tables are not on a worker's way to its first post
                from bot.alerts.runner import start as start_alerts

                start_alerts(self.app, self.stopping)
            log.info("campaign-bot running as %s", self.app.owner)
            self.scheduler.start()  # blocks until stop()
        finally:
            self.stopping.set()
            self.waker.wake_now()
            if loop is not None:
                loop.join(timeout=60)  # a tick in progress ends (its sends are the pool's, awaited below)
            if self._tick_link is not None:
                self._tick_link.close()
            beat, self._beat_link = self._beat_link, None
            if beat is not None:
                with contextlib.suppress(SQLAlchemyError):
                    beat.close()
            self.pool.shutdown(wait=True)  # the sends in flight finish and are recorded
            self.dispatcher.close()
            self._leave()
            self.app.engine.dispose()
            if lock:
                lock.release()
            log.info("stopped")
