"""The connection an account's work runs on, passed explicitly (on PostgreSQL: the one holding the
account's advisory lock). Each step is one short transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

T = TypeVar("T")


class Link:
    def __init__(self, engine: Engine, conn: Connection | None = None) -> None:
        self.engine = engine
        self.conn = conn if conn is not None else engine.connect()
        self._opened = [] if conn is not None else [self.conn]

    def run(self, step: Callable[[Connection], T]) -> T:
        """``step`` in one transaction on this link's connection."""
        try:
            result = step(self.conn)
            self.conn.commit()
            return result
        except BaseException:
            with contextlib.suppress(SQLAlchemyError):
                self.conn.rollback()
            raise

    def reconnect(self) -> None:
        """The connection died (a database outage; on PostgreSQL the account's lock died with it): go on with
        a fresh one from the pool, which reconnects when the database is back."""
        self.conn = self.engine.connect()
        self._opened.append(self.conn)

    def close(self) -> None:
        for conn in self._opened:
            conn.close()
        self._opened.clear()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
