"""The web app's migration creates exactly the tables and columns its models describe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import bot.queries.liveness  # noqa: F401 - registers its table
import bot.reach.links  # noqa: F401 - registers the share kit's tables
import bot.store.access  # noqa: F401 - registers the tables
from bot.store.db import make_engine, upgrade
from bot.store.models import Base

WEB_TABLES = {"users", "api_tokens", "approvals", "web_secret", "share_links", "share_clicks", "web_sessions",
              "rate_limits"}


def test_the_web_migration_matches_the_web_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in _flat(diff) if _table_of(d) in WEB_TABLES]
    assert ours == []
    engine.dispose()


def _flat(diff: list[Any]) -> list[Any]:
    return [x for d in diff for x in (d if isinstance(d, list) else [d])]


def _table_of(d: tuple[Any, ...]) -> str | None:
    for part in d[1:]:
        name = getattr(part, "name", None) if hasattr(part, "columns") else None
        table = getattr(part, "table", None)
        if name:
            return str(name)
        if table is not None:
            return str(table.name)
        if isinstance(part, str):
            return part
    return None
