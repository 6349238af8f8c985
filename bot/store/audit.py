"""The audit log: every state change, who made it, when, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.store.models import AuditRow


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
