"""PostgreSQL advisory locks: one planner at a time, and one worker per account at a time (so an account's
posts stay in order when several workers share the database). On SQLite there is one worker, so account
locks always succeed; the planner's lock is a file lock beside the database (the web app and commands write
campaign definitions from processes of their own)."""

from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import BigInteger, Connection, Engine, bindparam, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import ConfigError
from bot.store.raw import Raw

PLAN_LOCK = 0x63616D7062  # "campb"
# An account's lock is taken and let go once per run of an account whose lock was not kept: run raw, as the
# hot path's statements are (bot/outbox/raw.py).
_TRY_LOCK = Raw(select(func.pg_try_advisory_lock(bindparam("b_key", type_=BigInteger())).label("got")))
_UNLOCK_ALL = Raw(select(func.pg_advisory_unlock_all().label("done")))


def idle_keep(concurrency: int) -> int:
    """How many idle account locks a worker keeps (each on a pooled connection: see make_engine)."""
    return concurrency


def account_key(account_id: str) -> int:
    """A stable signed 64-bit key for an account's lock."""
    return int.from_bytes(hashlib.blake2b(f"account:{account_id}".encode(), digest_size=8).digest(), "big",
                          signed=True)


@contextmanager
def advisory_lock(engine: Engine, key: int, *, wait: bool = False) -> Iterator[bool]:
    """Hold a session-level advisory lock for the block; yields whether it was acquired."""
    if engine.dialect.name != "postgresql":
        with _file_lock(engine, key, wait=wait) as got:
            yield got
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if wait:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            got = True
        else:
            got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


def beside_database(engine: Engine, suffix: str) -> Path | None:
    """A file next to a SQLite database file (its lock files); None for an in-memory database, which one
    process alone sees."""
    database = make_url(str(engine.url)).database
    return Path(f"{database}{suffix}") if database and database != ":memory:" else None


def open_lock_file(path: Path, what: str) -> IO[str]:
    """Open (create) a lock file, or one line saying why it cannot be (``what``: which lock, for that line)."""
    try:
        return open(path, "a+")  # noqa: SIM115 - the caller holds it as long as its lock
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot open it for writing ({exc.strerror}); campaign-bot needs "
                          "write access to the database's folder") from None


@contextmanager
def _file_lock(engine: Engine, key: int, *, wait: bool) -> Iterator[bool]:
    """advisory_lock on SQLite: flock on a file beside the database file, for every process using it."""
    path = beside_database(engine, ".plan.lock" if key == PLAN_LOCK else f".lock-{key & 0xFFFFFFFFFFFFFFFF:x}")
    if path is None:
        yield True
        return
    with open_lock_file(path, "planner's lock") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def advisory_connection(engine: Engine, key: int) -> Iterator[tuple[bool, Connection | None]]:
    """Take a session-level advisory lock on a connection that the caller then does its work on, so that
    holding the lock costs no second connection. Yields (acquired, connection); (True, None) on SQLite."""
    if engine.dialect.name != "postgresql":
        yield True, None
        return
    with engine.connect() as conn:
        got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        conn.commit()
        try:
            yield got, conn if got else None
        finally:
            if got:
                conn.rollback()  # whatever the work left open
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


class AccountLocks:
    """Each busy account's advisory lock, kept on a long-lived autocommit connection between its runs, so a
    post costs no lock, unlock or pool checkout (with its pre-ping). A lock idle for ``idle_seconds`` is given
    back (another worker may then take the account), and at most ``keep`` idle ones are held (the pool is
    sized from the concurrency). A dead connection takes its lock with it. On SQLite, with one worker, there
    is nothing to lock: `take` gives (True, None, False)."""

    def __init__(self, engine: Engine, keep: int, idle_seconds: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic, stopping: threading.Event | None = None) -> None:
        self.engine = engine
        self.stopping = stopping or threading.Event()  # set: every lock given back is let go at once
        self.keep = keep
        self.idle_seconds = idle_seconds
        self._monotonic = monotonic
        self._idle: OrderedDict[str, tuple[Connection, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, account_id: str) -> tuple[bool, Connection | None, bool]:
        """(ours, the connection holding the lock, whether the lock was taken afresh)."""
        if self.engine.dialect.name != "postgresql":
            return True, None, False
        with self._lock:
            held = self._idle.pop(account_id, None)
        if held is not None:
            return True, held[0], False
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(_TRY_LOCK.execute(conn, {"b_key": account_key(account_id)})[1].got)
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False, None, False
        return True, conn, True

    def give_back(self, account_id: str, conn: Connection, healthy: bool) -> None:
        """Keep the lock for the account's next run (``healthy``: its connection is the one that took it and
        did not fail), or let it go."""
        if not healthy or self.stopping.is_set():
            self._let_go(conn)
            return
        with self._lock:
            self._idle[account_id] = (conn, self._monotonic())
            spare = [self._idle.popitem(last=False) for _ in range(len(self._idle) - self.keep)]
        for _, (old, _) in spare:  # the least recently used beyond `keep`
            self._let_go(old)

    def sweep(self) -> None:
        """Give back the locks of accounts idle for longer than ``idle_seconds``."""
        cutoff = self._monotonic() - self.idle_seconds
        with self._lock:
            stale = [(a, c) for a, (c, at) in self._idle.items() if at < cutoff]
            for account_id, _ in stale:
                del self._idle[account_id]
        for _, conn in stale:
            self._let_go(conn)

    def release(self, account_id: str) -> None:
        """Let go of the account's idle lock, if we keep one (it waits for a free sender: another worker may
        take the account meanwhile)."""
        with self._lock:
            held = self._idle.pop(account_id, None)
        if held is not None:
            self._let_go(held[0])

    def close(self) -> None:
        with self._lock:
            held, self._idle = list(self._idle.items()), OrderedDict()
        for _, (conn, _) in held:
            self._let_go(conn)

    def _let_go(self, conn: Connection) -> None:
        try:
            _UNLOCK_ALL.execute(conn, {})
            conn.close()
        except SQLAlchemyError:  # a dead connection: its locks died with it
            conn.invalidate()
            conn.close()
