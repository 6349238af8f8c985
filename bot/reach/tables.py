"""Reach tables. Created by migration 0010_reach."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, Id, UTCDateTime


class ReachSnapshotRow(Base):
    """A post's counts as read at one moment: the history is kept, so totals over time can be charted."""

    __tablename__ = "reach_snapshots"
    __table_args__ = (Index("ix_reach_snapshots_delivery_collected", "delivery_id", "collected_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reposts: Mapped[int] = mapped_column(Integer)
    likes: Mapped[int] = mapped_column(Integer)
    replies: Mapped[int] = mapped_column(Integer)
    quotes: Mapped[int | None] = mapped_column(Integer)
    """None where the network does not say (Mastodon before 4.5)."""


class TargetResponseRow(Base):
    """A reply, mention or quote by a target's account. Lane D's alerts read new rows of this table."""

    __tablename__ = "target_responses"
    __table_args__ = (UniqueConstraint("network", "remote_id", name="uq_target_responses_network_remote"),
                      Index("ix_target_responses_campaign", "campaign_id", "received_at"))

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    network: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(200))
    """The organisation's account that was answered."""
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    """The campaign post answered; None for a plain mention of the account."""
    author: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # reply | mention | quote
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    remote_id: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """When the answer was made, as the network dates it (when it was read, if the network does not say);
    new rows are found by id."""


class ReachAccountRow(Base):
    """One account's reading state: where its notifications were read up to, its read budget's window, a
    read error's back-off, and what it cannot read (said once)."""

    __tablename__ = "reach_accounts"

    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(200))
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reads_used: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    unavailable: Mapped[str | None] = mapped_column(Text)
    """Why this account cannot read counts or mentions (X's free tier): recorded once, shown in the report."""
    others_answers: Mapped[int] = mapped_column(Integer, default=0)
    """Replies, mentions and quotes by anyone but a target: counted, never stored."""
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


SNAPSHOTS: Table = ReachSnapshotRow.__table__  # type: ignore[assignment]
RESPONSES: Table = TargetResponseRow.__table__  # type: ignore[assignment]
READERS: Table = ReachAccountRow.__table__  # type: ignore[assignment]
