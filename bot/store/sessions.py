"""Web sessions kept in the database, so that they can be ended: signing out, a password change (the person's
other sessions), an admin's reset or a removal (all of theirs). The cookie holds a random id; only its SHA-256
is stored. A session lasts ``ABSOLUTE`` from sign-in whatever happens (no sliding), and ends after ``IDLE``
without a request; ``last_seen_at`` is written at most once per ``TOUCH`` (no write per page view)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.access import UserRow, WebSessionRow

ABSOLUTE = timedelta(hours=12)
IDLE = timedelta(hours=2)
TOUCH = timedelta(minutes=1)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(session: Session, user_id: int, now: datetime) -> str:
    """A new session for the user; returns its id (for the cookie: it is not stored)."""
    session_id = secrets.token_urlsafe(32)
    session.add(WebSessionRow(id_hash=_hash(session_id), user_id=user_id, created_at=now, last_seen_at=now,
                              expires_at=now + ABSOLUTE))
    return session_id


def user_of(session: Session, session_id: str, now: datetime) -> UserRow | None:
    """The user a live session belongs to; an expired or idle one is deleted and gives None."""
    row = session.get(WebSessionRow, _hash(session_id))
    if row is None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= IDLE:
        session.delete(row)
        return None
    user = session.get(UserRow, row.user_id)
    if user is None:
        session.delete(row)
        return None
    if now - row.last_seen_at >= TOUCH:
        row.last_seen_at = now
    return user


def end(session: Session, session_id: str) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == _hash(session_id)))


def end_all(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """End every session of the user (but ``keep``, the one making the change); returns how many."""
    stmt = delete(WebSessionRow).where(WebSessionRow.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(WebSessionRow.id_hash != _hash(keep))
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def purge(session: Session, now: datetime) -> int:
    """Delete sessions past their expiry or idle too long (any request may call it; it is cheap)."""
    stmt = delete(WebSessionRow).where((WebSessionRow.expires_at <= now) | (WebSessionRow.last_seen_at <= now - IDLE))
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def count(session: Session, user_id: int) -> int:
    return len(session.scalars(select(WebSessionRow.id_hash).where(WebSessionRow.user_id == user_id)).all())
