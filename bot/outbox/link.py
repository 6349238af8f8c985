"""The connection an account's work runs on, passed explicitly (on PostgreSQL: the one holding the
account's advisory lock).

`run` is one short transaction. On an autocommit link (the hot path) `once` runs one statement that commits
on its own: one round trip, where a transaction costs three on PostgreSQL (BEGIN, the statement, COMMIT);
`run` then opens the transaction itself, for the rare steps that write more than one thing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

T = TypeVar("T")


def autocommit(conn: Connection) -> Connection:
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return conn
    return conn.execution_options(isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def atomic(conn: Connection) -> Iterator[Connection]:
    """The block in one transaction: on an autocommit connection, BEGIN ... COMMIT (ROLLBACK on an error) around
    it; on one already in a transaction, that transaction (its owner commits). A step that writes more than one
    statement (an executemany among them: in autocommit each of its rows is a commit of its own on SQLite)
    runs in this, whichever link it was given."""
    if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        yield conn
        return
    conn.exec_driver_sql("BEGIN")
    try:
        yield conn
    except BaseException:
        with contextlib.suppress(SQLAlchemyError):
            conn.exec_driver_sql("ROLLBACK")
        raise
    conn.exec_driver_sql("COMMIT")


class Link:
    def __init__(self, engine: Engine, conn: Connection | None = None, *, auto: bool = False) -> None:
        self.engine = engine
        self.auto = auto
        self.conn = conn if conn is not None else engine.connect()
        if auto:
            self.conn = autocommit(self.conn)
        self._opened = [] if conn is not None else [self.conn]
        self.reconnected = False

    def run(self, step: Callable[[Connection], T]) -> T:
        """``step`` in one transaction on this link's connection."""
        if self.auto:
            return self._explicit(step)
        try:
            result = step(self.conn)
            self.conn.commit()
            return result
        except BaseException:
            with contextlib.suppress(SQLAlchemyError):
                self.conn.rollback()
            raise

    def once(self, step: Callable[[Connection], T]) -> T:
        """``step``, one statement, committed on its own on an autocommit link (else a transaction)."""
        return step(self.conn) if self.auto else self.run(step)

    def _explicit(self, step: Callable[[Connection], T]) -> T:
        with atomic(self.conn) as conn:
            return step(conn)

    def reconnect(self) -> None:
        """The connection died (a database outage; on PostgreSQL the account's lock died with it): go on with
        a fresh one from the pool, which reconnects when the database is back."""
        self.conn = self.engine.connect()
        if self.auto:
            self.conn = autocommit(self.conn)
        self._opened.append(self.conn)
        self.reconnected = True

    def close(self) -> None:
        for conn in self._opened:
            conn.close()
        self._opened.clear()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
