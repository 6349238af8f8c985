"""The two statements every delivery runs (the claim and the outcome), compiled once per dialect by
SQLAlchemy and then executed on the driver's own cursor: SQLAlchemy's per-execution work (cache lookup,
parameter processing, result set-up) cost about as much CPU as the driver and the round trip together.
Only what SQLAlchemy itself would send is sent: its compiled text, its bind processors; driver errors
come back as SQLAlchemy's (an outage is an OperationalError wherever it happens)."""

from __future__ import annotations

import enum
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


@dataclass
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # positional drivers (sqlite3): the parameters in order
    fixed: dict[str, Any]  # the statement's own literal values, processed once
    processors: dict[str, Callable[[Any], Any]]
    returned: tuple[Any, ...]  # the RETURNING columns (their types process what comes back)
    row: Any  # a named tuple of their keys: rows read as SQLAlchemy's are (row.id, row.text)
    readers: list[Callable[[Any], Any] | None] | None = None  # result processors, by the first answer's types


class Raw:
    """A Core statement whose own bound parameters are named ``b_*`` (every other is a literal of it)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
        processors: dict[str, Any] = dict(compiled._bind_processors)  # noqa: SLF001 - applied on each execution
        fixed = {}
        for name, value in (compiled.construct_params(_check=False) or {}).items():
            if name.startswith("b_"):
                continue
            value = value.value if isinstance(value, enum.Enum) else value
            fixed[name] = processors[name](value) if name in processors else value
        order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        returned = tuple(getattr(self.statement, "exported_columns", ()))
        done = _Compiled(compiled.string, order, fixed, {k: v for k, v in processors.items() if k.startswith("b_")},
                         returned, namedtuple("Row", [c.key for c in returned]) if returned else None)
        self._compiled[dialect.name] = done
        return done

    def execute(self, conn: Connection, params: dict[str, Any]) -> tuple[int, Any]:
        """Run on ``conn``'s driver connection: (rows changed, the first row returned or None), the row's
        values processed by their columns' types as SQLAlchemy's result would (a datetime of a SQLite text)."""
        dialect = conn.dialect
        c = self._compiled.get(dialect.name) or self._compile(dialect)
        values = dict(c.fixed)
        for name, value in params.items():
            process = c.processors.get(name)
            values[name] = process(value) if process is not None else value
        bound: Any = [values[name] for name in c.order] if c.order is not None else values
        if not conn.in_transaction():  # so that a caller's commit() commits what the driver began
            conn.begin()
        driver = conn.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            cursor.execute(c.sql, bound)
        except dialect.loaded_dbapi.Error as exc:
            cursor.close()
            wrapped = DBAPIError.instance(c.sql, bound, exc, dialect.loaded_dbapi.Error,
                                          connection_invalidated=dialect.is_disconnect(exc, driver, cursor),
                                          dialect=dialect)
            if wrapped.connection_invalidated:
                conn.invalidate()
            raise wrapped from exc
        try:
            found = cursor.fetchone() if cursor.description else None
            return cursor.rowcount, None if found is None else self._row(c, dialect, cursor.description, found)
        finally:
            cursor.close()

    @staticmethod
    def _row(c: _Compiled, dialect: Dialect, description: Sequence[Any], found: Sequence[Any]) -> Any:
        if c.row is None:
            return found
        if c.readers is None:  # how SQLAlchemy picks them: the column's type for this dialect and driver type
            c.readers = [col.type.dialect_impl(dialect).result_processor(dialect, d[1])
                         for col, d in zip(c.returned, description, strict=True)]
        return c.row(*(value if read is None else read(value) for read, value in zip(c.readers, found, strict=True)))
