"""People and API tokens: argon2 password hashes, one-time sign-in links, hashed tokens shown once."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import NotFound, UserError
from bot.store import audit
from bot.store.access import ROLES, TokenRow, UserRow

if TYPE_CHECKING:
    from bot.bootstrap import App

_hasher = PasswordHasher()
MIN_PASSWORD = 10


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Person:
    """Who is making a request: a signed-in user or an API token."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role {role!r}: use one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters, please")
    return password


def add_user(app: App, name: str, role: str, password: str | None, by: str) -> None:
    name = name.strip()
    if not name or len(name) > 200:
        raise UserError("name: give a user name of 1 to 200 characters")
    check_role(role)
    now = app.clock.now()
    with app.sessions.begin() as session:
        if session.scalars(select(UserRow).where(UserRow.name == name)).first() is not None:
            raise UserError(f"user {name!r} already exists (change the role with `campaign-bot users set-role`)")
        hashed = _hasher.hash(check_password(password)) if password is not None else None
        session.add(UserRow(name=name, role=role, password_hash=hashed, created_at=now))
        audit.record(session, now, by, "user_add", None, name, role=role)


def list_users(app: App) -> list[dict[str, str]]:
    with app.sessions() as session:
        return [{"name": u.name, "role": u.role, "created_at": u.created_at.isoformat(timespec="seconds")}
                for u in session.scalars(select(UserRow).order_by(UserRow.name))]


def _user(session: Session, name: str) -> UserRow:
    row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
    if row is None:
        raise NotFound(f"no user {name!r} (see `campaign-bot users list`)")
    return row


def remove_user(app: App, name: str, by: str) -> None:
    now = app.clock.now()
    with app.sessions.begin() as session:
        session.delete(_user(session, name))
        audit.record(session, now, by, "user_remove", None, name)


def set_role(app: App, name: str, role: str, by: str) -> None:
    check_role(role)
    now = app.clock.now()
    with app.sessions.begin() as session:
        _user(session, name).role = role
        audit.record(session, now, by, "user_set_role", None, name, role=role)


def set_password(app: App, name: str, password: str, by: str) -> None:
    now = app.clock.now()
    with app.sessions.begin() as session:
        _user(session, name).password_hash = _hasher.hash(check_password(password))
        audit.record(session, now, by, "user_set_password", None, name)


def authenticate(app: App, name: str, password: str) -> Person | None:
    with app.sessions.begin() as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name.strip())).first()
        try:
            _hasher.verify(row.password_hash if row and row.password_hash else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.password_hash is None:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        return Person(row.name, row.role)


def person(app: App, name: str) -> Person | None:
    """The user as the database knows them now: a removed user's cookie signs in no one."""
    with app.sessions() as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
        return Person(row.name, row.role) if row else None


def first_run_link(app: App, base_url: str) -> str | None:
    """With no users yet: create `admin` without a password and return a one-time sign-in link."""
    token = secrets.token_urlsafe(32)
    now = app.clock.now()
    with app.sessions.begin() as session:
        if session.scalar(select(func.count()).select_from(UserRow)):
            return None
        session.add(UserRow(name="admin", role="admin", password_hash=None, signin_token_hash=_sha256(token),
                            created_at=now))
        audit.record(session, now, "campaign-bot", "user_add", None, "admin (first run)", role="admin")
    return f"{base_url.rstrip('/')}/login/once?token={token}"


def use_signin_token(app: App, token: str) -> Person | None:
    with app.sessions.begin() as session:
        row = session.scalars(select(UserRow).where(UserRow.signin_token_hash == _sha256(token))).first()
        if row is None:
            return None
        row.signin_token_hash = None
        return Person(row.name, row.role)


def create_token(app: App, name: str, role: str, by: str) -> str:
    """A new API token; only its hash is kept, so this is the one time it is seen."""
    check_role(role)
    token = "cb_" + secrets.token_urlsafe(32)
    now = app.clock.now()
    with app.sessions.begin() as session:
        if session.scalars(select(TokenRow).where(TokenRow.name == name)).first() is not None:
            raise UserError(f"a token named {name!r} exists already: choose another name")
        session.add(TokenRow(name=name, role=role, token_hash=_sha256(token), created_at=now, created_by=by))
        audit.record(session, now, by, "token_create", None, name, role=role)
    return token


def token_person(app: App, token: str) -> Person | None:
    with app.sessions.begin() as session:
        row = session.scalars(select(TokenRow).where(TokenRow.token_hash == _sha256(token))).first()
        if row is None:
            return None
        row.last_used_at = app.clock.now()
        return Person(f"token:{row.name}", row.role)
