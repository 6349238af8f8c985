"""People who sign in to the web app (for the People page and `users list`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.queries.deps import Reads
from bot.states import Role
from bot.store.access import UserRow


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: datetime


def list_users(deps: Reads) -> list[User]:
    with deps.sessions() as session:
        rows = session.scalars(select(UserRow).order_by(UserRow.name))
        return [User(u.name, Role(u.role), u.created_at) for u in rows]


def language_of(deps: Reads, name: str) -> str | None:
    """The language ``name`` chose for the web app, or None (their browser's)."""
    with deps.sessions() as session:
        return session.scalar(select(UserRow.language).where(UserRow.name == name))
