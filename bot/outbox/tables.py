"""The tables the outbox writes, as Core tables: the hot path uses Core statements, not the ORM."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table

from bot.store.models import AccountStateRow, CampaignRow, ControlRow, DeliveryRow, WorkerRow

DELIVERIES: Table = DeliveryRow.__table__  # type: ignore[assignment]
CAMPAIGNS: Table = CampaignRow.__table__  # type: ignore[assignment]
CONTROL: Table = ControlRow.__table__  # type: ignore[assignment]
ACCOUNTS: Table = AccountStateRow.__table__  # type: ignore[assignment]
WORKERS: Table = WorkerRow.__table__  # type: ignore[assignment]


def human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds")
