"""PostgreSQL advisory locks: one planner at a time, and one worker per account at a time (so an account's
posts stay in order when several workers share the database). On SQLite there is one worker, so the locks
always succeed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

PLAN_LOCK = 0x63616D7062  # "campb"


def account_key(account_id: str) -> int:
    """A stable signed 64-bit key for an account's lock."""
    return int.from_bytes(hashlib.blake2b(f"account:{account_id}".encode(), digest_size=8).digest(), "big",
                          signed=True)


@contextmanager
def advisory_lock(engine: Engine, key: int, *, wait: bool = False) -> Iterator[bool]:
    """Hold a session-level advisory lock for the block; yields whether it was acquired."""
    if engine.dialect.name != "postgresql":
        yield True
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
