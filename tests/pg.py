"""Throwaway PostgreSQL databases for tests and benchmarks: created from a server URL, migrated, dropped."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

from bot.store.db import make_engine, upgrade


def create_database(base_url: str, name: str | None = None) -> tuple[str, str]:
    """A fresh, migrated database on the server of ``base_url``; returns (its URL, its name)."""
    name = name or f"campaign_bot_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_engine(base_url).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_engine(base_url).url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url, name


def empty(url: str) -> None:
    """The database as the migrations leave a new one: every table emptied, and the emergency stop's row
    (migration 0021) there again. No connection is left by an earlier test (a dispatcher never closed keeps its
    account locks on one): this test's workers could not take those accounts."""
    from bot.store.models import Base

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO control (id, paused_all) VALUES (1, false)"))
    engine.dispose()


def drop_database(base_url: str, name: str) -> None:
    admin = create_engine(make_engine(base_url).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
