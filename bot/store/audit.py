"""The audit log: every state change, who made it, when, and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.orm import Session

from bot.store.models import AuditRow
from bot.store.raw import Raw

_FIELDS = ("at", "actor", "action", "campaign_id", "note", "details")
AUDIT: Table = AuditRow.__table__  # type: ignore[assignment]
_INSERT = Raw(insert(AUDIT).values({name: bindparam(f"b_{name}") for name in _FIELDS}))


def record(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    campaign_id: str | None = None,
    note: str | None = None,
    **details: Any,
) -> None:
    session.add(AuditRow(at=at, actor=actor, action=action, campaign_id=campaign_id, note=note,
                         details=details or None))


def record_many(session: Session, at: datetime, actor: str, action: str,
                entries: Sequence[tuple[str | None, str | None, dict[str, Any]]]) -> None:
    """``record`` for many campaigns at once (campaign, note, details each), in one statement: a first plan
    records a thousand loads: by COPY on PostgreSQL, bot/store/raw.py)."""
    if entries:
        _INSERT.executemany(session.connection(), _FIELDS,
                            [(at, actor, action, cid, note, details or None) for cid, note, details in entries],
                            copy_into=AuditRow.__tablename__)
