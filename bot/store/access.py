"""The web app's tables: people, API tokens, and the secret that signs session cookies."""

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
    """A one-time sign-in link (first run): its SHA-256; cleared when used."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


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


class SecretRow(Base):
    """A single row (id=1): the key that signs session cookies when none is given in the environment."""

    __tablename__ = "web_secret"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
