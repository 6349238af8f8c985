"""Tables. Every change to them goes through an Alembic migration in migrations/versions/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on PostgreSQL (timestamptz) and SQLite (naive UTC text) alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class CampaignRow(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))  # active | paused | closed
    outcome: Mapped[str | None] = mapped_column(String(40))
    file_status: Mapped[str | None] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    definition_hash: Mapped[str] = mapped_column(String(64))
    close_seq: Mapped[int] = mapped_column(Integer, default=0)
    grace_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    planned_hash: Mapped[str | None] = mapped_column(String(64))
    planned_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_changed_by: Mapped[str | None] = mapped_column(String(200))
    state_note: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _partial(name: str, *columns: str, where: str) -> Index:
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_due", "status", "due_at"),
        Index("ix_deliveries_account_status_due", "account_id", "status", "due_at", "id"),
        Index("ix_deliveries_campaign_account_kind", "campaign_id", "account_id", "kind", "status"),
        # Partial: a planned row (a wave's 100,000 boosts) has none of these columns and costs no entry
        # (migration 0018); each query on them compares the column with a value, which implies NOT NULL.
        _partial("ix_deliveries_lease", "status", "lease_expires_at", where="lease_expires_at IS NOT NULL"),
        _partial("ix_deliveries_account_sent", "account_id", "sent_at", where="sent_at IS NOT NULL"),
        _partial("ix_deliveries_status_not_before", "status", "not_before", where="not_before IS NOT NULL"),
        _partial("ix_deliveries_approval", "approval_id", where="approval_id IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    plan_key: Mapped[str] = mapped_column(String(500), unique=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    account_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # call_to_action | closing | update | queued
    action: Mapped[str] = mapped_column(String(20), default="post", server_default="post")  # post | boost | unboost
    rule_id: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(20))
    variant: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    text_length: Mapped[int | None] = mapped_column(Integer)
    """The text's length as ``length_for``'s network counts it (Network.measure), measured when the row was
    planned or its text edited; None on rows from before migration 0020 (measured at send time)."""
    length_for: Mapped[str | None] = mapped_column(String(40))
    media: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    reply_in_thread: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # planned | sending | sent | cancelled | failed | missed | unknown
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_id: Mapped[str | None] = mapped_column(String(500))
    remote_url: Mapped[str | None] = mapped_column(Text)
    remote_ref: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    thread_root: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(40))
    queued_by: Mapped[str | None] = mapped_column(String(200))
    """Who queued it (`queue`, the web app): an organiser may change only their own queued posts."""
    approval_id: Mapped[int | None] = mapped_column(Id)
    """The approval request this post waits for, or was given (bot/store/access.py ApprovalRow)."""
    cancel_asked_by: Mapped[str | None] = mapped_column(String(200))
    """Who asked to cancel it while it was in doubt: it is read back, and cancelled if it is not on the account."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[str | None] = mapped_column(String(200), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ControlRow(Base):
    """A single row (id=1): the emergency stop."""

    __tablename__ = "control"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paused_all: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InstallationRow(Base):
    """A single row (id=1): this database's own key, part of every post's idempotency key and Bluesky record
    key, so that delivery 1 of a re-created database is never taken for delivery 1 of an earlier one (Mastodon
    keeps an Idempotency-Key for an hour; a Bluesky record key forever). '' for databases that already held
    deliveries when it was introduced: their deliveries keep the keys they were first tried with."""

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40))


class PlanScanRow(Base):
    """A single row (id=1): what the last full load of the campaign files depended on (a digest of the files'
    stats, the images they name, the accounts and the code: bot/campaigns/fingerprint.py), written by the
    planner when every file loaded; the issues it found (warnings) are kept to be said again. A worker that
    starts and finds the same digest, less than an hour old, with every active campaign planned through its
    horizon, has nothing to load or plan. Whoever stores the files' definitions otherwise clears it."""

    __tablename__ = "plan_scan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str | None] = mapped_column(String(64))
    images: Mapped[list[str]] = mapped_column(JSON)
    issues: Mapped[list[list[str]]] = mapped_column(JSON)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountStateRow(Base):
    __tablename__ = "account_state"

    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rate_limited_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    misconfigured_reason: Mapped[str | None] = mapped_column(Text)
    misconfigured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What an adapter started and must resume after a crash (a Threads container, kept before publishing)."""
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkerRow(Base):
    """A running worker and its heartbeat: a worker silent for long is dead, and what it held is freed."""

    __tablename__ = "workers"

    owner: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FileProblemRow(Base):
    """A campaign file that does not load, as the worker last found it: the web app shows it (the worker's log
    is not where staff look), and the last good version of the campaign runs on meanwhile."""

    __tablename__ = "file_problems"

    campaign_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    problems: Mapped[list[str]] = mapped_column(JSON)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
