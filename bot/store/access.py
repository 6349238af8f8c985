"""The web app's tables: people, their sessions, API tokens, approvals, and the counters that slow down guessing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, Id, UTCDateTime

ROLES = ("organiser", "staff", "admin")
"""Each role can do everything the ones before it can."""


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(Text)
    signin_token_hash: Mapped[str | None] = mapped_column(String(64))
    """A one-time link to choose a password (first run, or an admin's reset): its SHA-256; cleared when used."""
    signin_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(20))
    """The web app's language for this person (bot/web/i18n.py); None: the browser's Accept-Language."""


class WebSessionRow(Base):
    """A signed-in browser. The cookie carries a random id; only its SHA-256 is kept, so the database (or a
    backup) holds no live session. Deleting the row ends the session at once."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Set once at sign-in (absolute expiry): activity never moves it."""


class RateLimitRow(Base):
    """Attempts counted per key ("login:<name>|<address>", "address:<address>", "connect:<address>"): failed
    sign-ins back off, connect attempts are counted per window. Never a permanent lock."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    next_allowed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(200))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApprovalRow(Base):
    """Something waiting for a second person: a queued post (its delivery rows have status
    awaiting_approval) or a close (nothing is written until it is approved)."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), default="post")  # post | close
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """For a close: the outcome and the note."""
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(20))  # bot.states.Decision
    reason: Mapped[str | None] = mapped_column(Text)
    """Why it was rejected (shown to the person who asked)."""
