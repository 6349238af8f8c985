"""The alert queue: each event once (unique by event and subject), and one row per destination that wants it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, Id, UTCDateTime

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("event", "subject", name="uq_alerts_event_subject"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    """What the event is about, e.g. `delivery:12` or `worker:<last heartbeat>`: (event, subject) is alerted once."""
    campaign_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertSendRow(Base):
    __tablename__ = "alert_sends"
    __table_args__ = (
        UniqueConstraint("alert_id", "destination", name="uq_alert_sends_alert_destination"),
        Index("ix_alert_sends_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    destination: Mapped[str] = mapped_column(String(300))
    """The destination's key (its name, `$VARIABLE` or scheme://host): never the URL, which may hold credentials."""
    status: Mapped[str] = mapped_column(String(20))  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


ALERTS: Table = AlertRow.__table__  # type: ignore[assignment]
SENDS: Table = AlertSendRow.__table__  # type: ignore[assignment]
