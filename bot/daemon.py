"""`campaign-bot run`: one BlockingScheduler process whose jobs are derived from the database.

Jobs (in-memory job store, stable ids, so nothing is duplicated across restarts):
- plan: at start, every few minutes, and when a campaign file changes (a cheap mtime poll);
- dispatch: wakes at the next due time, plus a safety tick every poll_seconds, and hands each account
  with due posts to a thread pool: accounts run concurrently, posts within an account in order.
SIGTERM/SIGINT: stop claiming, let the sends in flight finish, exit 0.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.app import App
from bot.dispatch import Dispatcher
from bot.errors import ConfigError
from bot.outage import OutageLog
from bot.outbox import workers
from bot.outbox.link import Link
from bot.planner import plan
from bot.store.db import is_sqlite

log = logging.getLogger(__name__)


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

    def __init__(self, app: App) -> None:
        self.handle: IO[str] | None = None
        database = make_url(str(app.engine.url)).database
        self.path = Path(f"{database}.worker.lock") if database and database != ":memory:" else None

    def acquire(self) -> None:
        if self.path is None:
            return
        try:
            self.handle = open(self.path, "a+")  # noqa: SIM115 - held for the life of the process
        except OSError as exc:
            raise ConfigError(f"worker lock {self.path}: cannot open it for writing ({exc.strerror}); the worker "
                              "needs write access to the database's folder") from None
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
    def __init__(self, app: App) -> None:
        self.app = app
        self.stopping = threading.Event()
        self.dispatcher = Dispatcher(app, self.stopping)
        self.pool = ThreadPoolExecutor(max_workers=app.config.bot.concurrency, thread_name_prefix="account")
        self.busy: dict[str, Future[Any]] = {}
        self.busy_lock = threading.Lock()
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
        self._schedule_wake()

    def watch_job(self) -> None:
        signature = _files_signature(self.app.config.campaigns_dir)
        if signature != self._signature:
            self._signature = signature
            log.info("campaign files changed: reloading")
            self.plan_job()

    def dispatch_job(self) -> None:
        if self.stopping.is_set():
            return
        try:
            self.dispatcher.expire_leases()
            accounts = self.dispatcher.due_accounts()
            self.outage.ok()
        except OperationalError as exc:
            self.outage.failed("dispatch", exc.orig)
            return
        self.dispatcher.locks.sweep()
        with self.busy_lock:
            for account_id in accounts:
                if account_id in self.busy and not self.busy[account_id].done():
                    continue
                self.busy[account_id] = self.pool.submit(self._run_account, account_id)
        self._schedule_wake()

    def _run_account(self, account_id: str) -> None:
        try:
            self.dispatcher.run_account(account_id)
        except OperationalError as exc:
            self.outage.failed(f"account {account_id}", exc.orig)
        except Exception:
            log.exception("account %s: dispatch failed; will retry on the next tick", account_id)

    def _schedule_wake(self) -> None:
        try:
            when = self.dispatcher.next_due_at()
        except OperationalError:
            return
        now = self.app.clock.now()
        if when is None or when <= now or when - now > timedelta(seconds=self.app.config.bot.poll_seconds):
            return  # nothing ahead, or the safety tick comes first
        self.scheduler.add_job(self.dispatch_job, "date", run_date=when, id="dispatch-wake", replace_existing=True)

    def heartbeat(self) -> None:
        """Tell other workers we are alive; when we stop beating they free what we held."""
        try:
            with Link(self.app.engine) as link:
                link.run(lambda conn: workers.beat(conn, self.app.owner, self.app.clock.now()))
        except OperationalError as exc:
            self.outage.failed("heartbeat", exc.orig)

    def _beat_forever(self) -> None:
        while not self.stopping.wait(workers.HEARTBEAT_SECONDS):
            self.heartbeat()

    def _leave(self) -> None:
        try:
            with Link(self.app.engine) as link:
                link.run(lambda conn: workers.leave(conn, self.app.owner))
        except OperationalError as exc:
            log.warning("could not unregister this worker (database unavailable: %s)", exc.orig)

    def stop(self, signum: int | None = None, _frame: object = None) -> None:
        if not self.stopping.is_set():
            log.info("stopping (%s): finishing the sends in flight", signal.Signals(signum).name if signum else "stop")
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def run(self) -> None:
        lock = SingleWorkerLock(self.app) if is_sqlite(self.app.engine) else None
        if lock:
            lock.acquire()
        try:
            s = self.app.config.bot
            self.scheduler.add_job(self.plan_job, "interval", minutes=s.plan_interval_minutes, id="plan",
                                   replace_existing=True, next_run_time=self.app.clock.now())
            self.scheduler.add_job(self.watch_job, "interval", seconds=2, id="watch", replace_existing=True)
            self.scheduler.add_job(self.dispatch_job, "interval", seconds=s.poll_seconds, id="dispatch",
                                   replace_existing=True)
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
            self.heartbeat()
            threading.Thread(target=self._beat_forever, name="heartbeat", daemon=True).start()
            log.info("campaign-bot running as %s", self.app.owner)
            self.scheduler.start()  # blocks until stop()
        finally:
            self.stopping.set()
            self.pool.shutdown(wait=True)  # the sends in flight finish and are recorded
            self.dispatcher.close()
            self._leave()
            self.app.engine.dispose()
            if lock:
                lock.release()
            log.info("stopped")
