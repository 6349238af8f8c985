"""Engine, sessions and migrations."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.*?)\s*$", re.MULTILINE)


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs; we ship the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database url>"


def make_engine(url: str, concurrency: int = 8) -> Engine:
    """``concurrency``: accounts sending at once; each holds one connection while it sends."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database_url: not a database URL: {redact(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            parent = Path(database).parent
            if not parent.exists():
                raise ConfigError(f"database_url: folder {parent} does not exist")
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=False
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"database_url: {parsed.get_backend_name()} is not supported (use sqlite or postgresql)")
    # One connection kept by each sender thread, one for every account lock (bot/store/account_locks.py), plus the
    # dispatch loop's, the heartbeat's, the planner's and the adapters' state writes.
    return create_engine(url, pool_pre_ping=True, pool_size=concurrency + POOL_BESIDES_SENDERS,
                         max_overflow=concurrency + 8, pool_timeout=60)


POOL_BESIDES_SENDERS = 6


PLAN_CACHE_KIB = 65_536


@contextlib.contextmanager
def big_cache(conn: Connection) -> Iterator[None]:
    """SQLite: a 64 MB page cache on this connection for the length of the block (a first plan inserts tens of
    thousands of rows into a table with ten indexes: with SQLite's default 2 MB the cost per row grew with the
    table). Given back after, so an idle worker's connections stay small. Nothing on PostgreSQL."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
    conn.exec_driver_sql(f"PRAGMA cache_size = -{PLAN_CACHE_KIB}")
    try:
        yield
    finally:
        with contextlib.suppress(SQLAlchemyError):
            conn.exec_driver_sql(f"PRAGMA cache_size = {before}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _head_from_files() -> str | None:
    """The one revision no migration names as its `down_revision`, read from the files' own lines; None when
    they do not give exactly one (a merge, a branch, a line written another way): Alembic then answers."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = {m[1]: m[2] for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8"))}
        revision, down = found.get("revision", ""), found.get("down_revision", "")
        if not re.fullmatch(r"[\"'][\w-]+[\"']", revision) or not re.fullmatch(r"None|[\"'][\w-]+[\"']", down):
            return None
        revisions.add(revision.strip("\"'"))
        if down != "None":
            downs.add(down.strip("\"'"))
    heads = revisions - downs
    return next(iter(heads)) if len(heads) == 1 and downs <= revisions else None


def head_revision() -> str:
    """The newest migration. Read from the files first: Alembic's script machinery (and Mako, and every
    dialect's DDL module) cost a quarter of a second of CPU at each start, and a worker that restarts needs
    only to know the database is current (tests/test_migrations_check.py: both answers agree)."""
    head = _head_from_files()
    if head is not None:
        return head
    from alembic.script import ScriptDirectory

    alembic_head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert alembic_head is not None
    return alembic_head


def current_revision(engine: Engine) -> str | None:
    """The database's revision, as Alembic keeps it (one row in alembic_version), read with one statement; a
    database never migrated has none. Several rows (branches) are Alembic's to read."""
    with engine.connect() as conn:
        if not conn.dialect.has_table(conn, VERSION_TABLE):
            return None
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
        if len(rows) <= 1:
            return rows[0] if rows else None
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    from alembic import command

    cfg = _alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise ConfigError(f"database {redact(str(engine.url))}: cannot connect: {exc.orig}") from None


def ensure_schema(engine: Engine) -> None:
    """SQLite upgrades itself (Alembic is loaded only when a migration is pending); PostgreSQL is upgraded by
    `campaign-bot db upgrade` (the Procfile's release)."""
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise ConfigError(f"database {redact(str(engine.url))}: cannot connect: {exc.orig}") from None
    if current == head_revision():
        return
    if is_sqlite(engine):
        upgrade(engine)
        return
    raise ConfigError(
        f"database {redact(str(engine.url))} is at revision {current or 'none'}, "
        f"expected {head_revision()}: run `campaign-bot db upgrade`"
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
