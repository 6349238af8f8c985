"""Advisory locks: one planner at a time (on SQLite a file lock beside the database: the web app and commands
write campaign definitions from processes of their own). Each account's lock, one worker per account at a time,
is bot/store/account_locks.py's."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from bot.errors import ConfigError

PLAN_LOCK = 0x63616D7062  # "campb"


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
