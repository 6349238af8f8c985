"""Migration 0011 creates exactly the alert tables and columns bot/alerts/models.py describes."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import bot.alerts.models  # noqa: F401 - registers the tables
from bot.store.db import make_engine, upgrade
from bot.store.models import Base
from tests.test_web_migration import _flat, _table_of

ALERT_TABLES = {"alerts", "alert_sends"}


def test_the_alerts_migration_matches_the_alert_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in _flat(diff) if _table_of(d) in ALERT_TABLES] == []
    engine.dispose()
