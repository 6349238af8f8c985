"""The two statements every delivery runs (the claim and the outcome), compiled once per dialect by
SQLAlchemy and then executed on the driver's own cursor: SQLAlchemy's per-execution work (cache lookup,
parameter processing, result set-up) cost about as much CPU as the driver and the round trip together.
Only what SQLAlchemy itself would send is sent: its compiled text, its bind processors (found through its
public API, tests/test_raw.py compares both on each database); driver errors come back as SQLAlchemy's (an
outage is an OperationalError wherever it happens). Not run: engine events (before_cursor_execute...)."""

from __future__ import annotations

import contextlib
import enum
import json
import re
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, DateTime
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
    naive_times: bool = False  # a parameter is a timestamp without time zone (not written as COPY text here)
    native: tuple[str, tuple[str, ...]] | None = None  # PostgreSQL: the text with $n placeholders, their names


def _bind_processors(compiled: SQLCompiler, dialect: Dialect) -> dict[str, Callable[[Any], Any]]:
    """Each parameter's bind processor, found as SQLAlchemy finds them (public API only): the type of the bound
    parameter, as this dialect implements it. Keyed by the names in the compiled text."""
    unescape = {escaped: name for name, escaped in (compiled.escaped_bind_names or {}).items()}
    found: dict[str, Callable[[Any], Any]] = {}
    for name in compiled.params:
        process = compiled.binds[unescape.get(name, name)].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            found[name] = process
    return found


def _processed(values: Sequence[Any], process: Callable[[Any], Any] | None) -> Sequence[Any]:
    """A column's values as the driver takes them: enums as their values, then the type's bind processor, each
    distinct value processed once (a JSON list by identity, an empty one once)."""
    first = next((v for v in values if v is not None), None)
    if process is None and not isinstance(first, enum.Enum):
        return values
    memo: dict[Any, Any] = {}

    def one(v: Any) -> Any:
        plain = v.value if isinstance(v, enum.Enum) else v
        return process(plain) if process is not None else plain

    if isinstance(first, list | dict):  # unhashable: by identity (every value is alive during the call)
        out = []
        for v in values:
            key = type(v) if not v else id(v)
            if key not in memo:
                memo[key] = one(v)
            out.append(memo[key])
        return out
    memo = {v: one(v) for v in set(values)}
    return list(map(memo.__getitem__, values))


def _json_text(values: Sequence[Any]) -> Sequence[Any]:
    """psycopg's Json wrappers (what the JSON type's bind processor gives) as JSON text, for COPY."""
    first = next((v for v in values if v is not None), None)
    if first is None or not hasattr(first, "obj") or not hasattr(first, "dumps"):
        return values
    texts: dict[int, Any] = {}
    out: list[Any] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        if id(v) not in texts:
            texts[id(v)] = (v.dumps or json.dumps)(v.obj)
        out.append(texts[id(v)])
    return out


def _naive_time(type_: Any, dialect: Dialect) -> bool:
    """A DateTime without time zone (an aware value's offset would be dropped by COPY's text, not converted)."""
    impl = type_.dialect_impl(dialect)
    impl = getattr(impl, "impl", impl)  # a TypeDecorator's own type
    return isinstance(impl, DateTime) and not impl.timezone


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")  # what COPY's text format escapes: _COPY_ESCAPES
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _NotCopyText(Exception):
    """A value this module does not write as COPY text itself (psycopg's own dumpers write the rows then)."""


def _copy_value(value: Any) -> str:
    """One value in PostgreSQL's COPY text format: NULL as \\N, booleans as t/f, text with its backslashes, tabs,
    newlines and carriage returns escaped, integers and dates as their text, JSON (psycopg's wrapper, what the
    JSON type's bind processor gives) as its escaped text; anything else is left to psycopg."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        return cast(str, value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value)
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if kind is datetime and value.tzinfo is not None:
        return cast(str, value.isoformat())
    if hasattr(value, "obj") and hasattr(value, "dumps"):
        return _copy_value((value.dumps or json.dumps)(value.obj))
    raise _NotCopyText(kind.__name__)


def _copy_column(values: Sequence[Any]) -> str | list[str]:
    """A column's values as COPY text, each distinct value written once (a column of one type and None; JSON
    wrappers by identity): one text when every row has the same."""
    try:
        distinct = set(values)
    except TypeError:
        raise _NotCopyText("unhashable") from None
    if len(kinds := {type(v) for v in distinct if v is not None}) > 1:  # True and 1 would share a text
        raise _NotCopyText("mixed types")
    if kinds == {str} and None not in distinct and not _COPY_SPECIAL.search("".join(distinct)):  # as it is:
        return values[0] if len(distinct) == 1 else list(values)  # no text to escape (every plan key differs)
    memo = {v: _copy_value(v) for v in distinct}
    if len(memo) == 1:
        return memo[values[0]]
    return list(map(memo.__getitem__, values))


def _copy_lines(names: Sequence[str], columns: Sequence[Sequence[Any]]) -> tuple[list[str], str]:
    """The rows (given column by column) as COPY text, and the order of its columns: those that differ from row
    to row first, then those every row shares, written once as each line's tail."""
    varying: list[tuple[str, list[str]]] = []
    shared: list[tuple[str, str]] = []
    for name, values in zip(names, columns, strict=True):
        texts = _copy_column(values)
        if isinstance(texts, str):
            shared.append((name, texts))
        else:
            varying.append((name, texts))
    order = [name for name, _ in varying] + [name for name, _ in shared]
    if not varying:
        return order, ("\t".join(text for _, text in shared) + "\n") * len(columns[0])
    end = "".join("\t" + text for _, text in shared) + "\n"
    return order, end.join(map("\t".join, zip(*(texts for _, texts in varying), strict=True))) + end


_SQLITE_INTEGER = range(-(2**63), 2**63)


def _sqlite_literal(values: Sequence[Any]) -> str | None:
    """A column's one value as an SQLite literal, when every row has the same one and its literal stores what
    binding it would (text, an integer, NULL); else None. Binding a value costs the driver about as much as
    SQLite's own work for a short column: a plan's batch repeats `now` twice, the status, the kind..."""
    first = values[0]
    kind = type(first)
    if kind not in (str, int, bool, type(None)) or len(set(values)) != 1 or len(set(map(type, values))) != 1:
        return None
    if first is None:
        return "NULL"
    if kind is str:
        return None if "\x00" in first else "'" + first.replace("'", "''") + "'"
    return str(int(first)) if int(first) in _SQLITE_INTEGER else None


def _sqlite_insert(table: str, names: Sequence[str], columns: dict[str, Sequence[Any]],
                   dialect: Dialect) -> tuple[str, list[str]]:
    """``INSERT INTO table (names) VALUES (...)`` with a column that has one value in every row written as its
    literal, the others bound: the SQL and the names still bound, in order."""
    quote = dialect.identifier_preparer.quote
    values, bound = [], []
    for name in names:
        literal = _sqlite_literal(columns[f"b_{name}"])
        if literal is None:
            bound.append(name)
        values.append("?" if literal is None else literal)
    # Identifiers quoted by the dialect; each literal is _sqlite_literal's (quotes doubled, no NUL): no input
    # reaches the statement as SQL.
    sql = f"INSERT INTO {quote(table)} ({', '.join(quote(n) for n in names)}) VALUES ({', '.join(values)})"  # nosec B608
    return sql, bound


_CURSOR = "bot.raw.cursor"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def _native(sql: str) -> tuple[str, tuple[str, ...]]:
    """SQLAlchemy's psycopg text (``%(name)s``) in PostgreSQL's own placeholders (``$n``; a name used twice is
    one parameter), and the names in their order. psycopg parses a query's placeholders on every execution of
    a text longer than 4 kB (it caches shorter ones): the tick and the first claim are longer."""
    names: list[str] = []

    def place(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "%"  # an escaped percent sign
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PLACEHOLDER.sub(place, sql), tuple(names)


def _cursor(conn: Connection, driver: Any) -> Any:
    """On PostgreSQL the driver connection's cursor, kept for its next statement (in the pool's record of that
    connection): psycopg builds a cursor's adapters afresh, and looks up each parameter's dumper again, for
    every new one (about a tenth of a statement's instructions); its results are read whole at execute, so a
    kept cursor holds nothing on the server. SQLite's is closed after each statement (a statement not read to
    its end would keep its read transaction open)."""
    if conn.dialect.name != "postgresql":
        return driver.cursor()
    info = conn.connection.info
    kept = info.get(_CURSOR)
    if kept is not None and kept[0] is driver and not kept[1].closed:
        return kept[1]
    from psycopg import RawCursor  # sends the text as it is, with PostgreSQL's own placeholders (no parsing)

    cursor = RawCursor(driver)
    info[_CURSOR] = (driver, cursor)
    return cursor


def _drop_cursor(conn: Connection, cursor: Any) -> None:
    """After an error: a fresh cursor next time."""
    kept = conn.connection.info.get(_CURSOR)
    if kept is not None and kept[1] is cursor:
        del conn.connection.info[_CURSOR]
    with contextlib.suppress(Exception):  # noqa: BLE001 - the driver's own (a dead connection's cursor)
        cursor.close()


class Raw:
    """A Core statement whose own bound parameters are named ``b_*`` (every other is a literal of it)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
        processors = _bind_processors(compiled, dialect)
        fixed = {}
        for name, value in compiled.params.items():  # the literals' values; ours (b_*) are given on each call
            if name.startswith("b_"):
                continue
            value = value.value if isinstance(value, enum.Enum) else value
            fixed[name] = processors[name](value) if name in processors else value
        order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        returned = tuple(getattr(self.statement, "exported_columns", ()))
        done = _Compiled(compiled.string, order, fixed, {k: v for k, v in processors.items() if k.startswith("b_")},
                         returned, namedtuple("Row", [c.key for c in returned]) if returned else None,
                         naive_times=any(_naive_time(bind.type, dialect) for bind in compiled.binds.values()))
        self._compiled[(dialect.name, dialect.driver)] = done
        return done

    def render(self, dialect: Dialect, params: dict[str, Any]) -> tuple[str, Any]:
        """The SQL and the parameters given to the driver's cursor: what SQLAlchemy would give it."""
        c = self._compiled.get((dialect.name, dialect.driver)) or self._compile(dialect)
        values = dict(c.fixed)
        for name, value in params.items():
            process = c.processors.get(name)
            values[name] = process(value) if process is not None else value
        return c.sql, [values[name] for name in c.order] if c.order is not None else values

    def execute(self, conn: Connection, params: dict[str, Any]) -> tuple[int, Any]:
        """Run on ``conn``'s driver connection: (rows changed, the first row returned or None), the row's
        values processed by their columns' types as SQLAlchemy's result would (a datetime of a SQLite text)."""
        changed, rows = self._run(conn, params, many=False)
        return changed, rows[0] if rows else None

    def all(self, conn: Connection, params: dict[str, Any]) -> list[Any]:
        """Every row a query returns, read as SQLAlchemy's result reads them (the batch read, the tick)."""
        return self._run(conn, params, many=True)[1]

    def executemany(self, conn: Connection, names: Sequence[str], rows: Sequence[Sequence[Any]],
                    copy_into: str | None = None) -> None:
        """Run once per row (the planner's insert of tens of thousands of rows): ``rows`` hold the values of the
        parameters ``b_<name>`` in the order of ``names``. Values are processed column by column, and a value
        seen before in its column (the plan's `now`, a slot time shared by every account) is processed once.
        ``copy_into``: the statement is a plain INSERT of ``names`` into this table; on PostgreSQL the rows go
        by COPY instead (the same values, the same constraints), on SQLite a value every row shares is written
        into the statement (each bound value costs the driver a conversion per row)."""
        dialect = conn.dialect
        c = self._compiled.get((dialect.name, dialect.driver)) or self._compile(dialect)
        columns: dict[str, Sequence[Any]] = {}
        for name, values in zip(names, zip(*rows, strict=True), strict=True):  # by column, in C
            columns[f"b_{name}"] = _processed(values, c.processors.get(f"b_{name}"))
        for name, value in c.fixed.items():
            columns[name] = [value] * len(rows)
        copy = dialect.name == "postgresql" and copy_into is not None
        lines: str | None = None
        copied = list(names)  # the columns in COPY's order
        sql = c.sql
        if dialect.name == "sqlite" and copy_into is not None and not c.fixed and rows:
            sql, kept = _sqlite_insert(copy_into, names, columns, dialect)  # a batch's constants as literals
            bound: list[Any] = (list(zip(*(columns[f"b_{n}"] for n in kept), strict=True)) if kept
                                else [()] * len(rows))
        elif c.order is not None:
            bound = list(zip(*(columns[n] for n in c.order), strict=True))
        elif copy:  # as COPY text written here (psycopg's write_row dumps each value of each row), else by it
            try:
                if not c.naive_times:
                    copied, lines = _copy_lines(names, [columns[f"b_{n}"] for n in names])
            except _NotCopyText:
                lines = None
            if lines is None:  # psycopg's write_row: JSON as its text, each distinct one serialised once
                bound = list(zip(*(_json_text(columns[f"b_{n}"]) for n in copied), strict=True))
            else:  # the first row, for an error's message
                bound = [tuple(columns[f"b_{n}"][0] for n in copied)]
        else:
            keys = list(columns)
            bound = [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]
        if not conn.in_transaction():
            conn.begin()
        driver = conn.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            if copy:  # PostgreSQL's COPY: no statement per row (executemany would send one per row)
                with cursor.copy(f"COPY {copy_into} ({', '.join(copied)}) FROM STDIN") as stream:
                    if lines is not None:  # as text written here: psycopg's write_row dumps each value of each row
                        stream.write(lines)
                    else:
                        for row in bound:
                            stream.write_row(row)
            else:
                cursor.executemany(sql, bound)
        except dialect.loaded_dbapi.Error as exc:
            wrapped = DBAPIError.instance(sql, bound[:1], exc, dialect.loaded_dbapi.Error,
                                          connection_invalidated=dialect.is_disconnect(exc, driver, cursor),
                                          dialect=dialect)
            if wrapped.connection_invalidated:
                conn.invalidate()
            raise wrapped from exc
        finally:
            cursor.close()

    def _run(self, conn: Connection, params: dict[str, Any], many: bool) -> tuple[int, list[Any]]:
        dialect = conn.dialect
        sql, bound = self.render(dialect, params)
        c = self._compiled[(dialect.name, dialect.driver)]
        if not conn.in_transaction():  # so that a caller's commit() commits what the driver began
            conn.begin()
        driver = conn.connection.driver_connection
        assert driver is not None
        if dialect.name == "postgresql" and isinstance(bound, dict):
            if c.native is None:
                c.native = _native(sql)
            sql, bound = c.native[0], [bound[name] for name in c.native[1]]
        cursor = None
        try:  # a connection the driver knows is closed fails at cursor(): wrapped too, as SQLAlchemy wraps it
            cursor = _cursor(conn, driver)
            cursor.execute(sql, bound)
        except dialect.loaded_dbapi.Error as exc:
            if cursor is not None:
                _drop_cursor(conn, cursor)
            wrapped = DBAPIError.instance(sql, bound, exc, dialect.loaded_dbapi.Error,
                                          connection_invalidated=dialect.is_disconnect(exc, driver, cursor),
                                          dialect=dialect)
            if wrapped.connection_invalidated:
                conn.invalidate()
            raise wrapped from exc
        try:
            if c.row is None:  # no columns of ours: whatever the driver returns, as it returns it
                if not cursor.description:
                    return cursor.rowcount, []
                return cursor.rowcount, list(cursor.fetchall() if many else cursor.fetchmany(1))
            found = cursor.fetchall() if many else cursor.fetchmany(1)
            if found and c.readers is None:  # the driver's description is built afresh on each read: once only
                c.readers = self._readers(c, dialect, cursor.description)
            readers = c.readers or ()
            return cursor.rowcount, [c.row(*(value if read is None else read(value)
                                             for read, value in zip(readers, row, strict=True))) for row in found]
        except BaseException:
            _drop_cursor(conn, cursor)
            raise
        finally:
            if conn.dialect.name != "postgresql":
                cursor.close()

    @staticmethod
    def _readers(c: _Compiled, dialect: Dialect, description: Sequence[Any]) -> list[Any]:
        """How SQLAlchemy reads each column: the column's type for this dialect and the driver's type."""
        return [col.type.dialect_impl(dialect).result_processor(dialect, d[1])
                for col, d in zip(c.returned, description, strict=True)]
