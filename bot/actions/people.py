"""People who sign in to the web app, and API tokens: argon2 password hashes, sessions kept in the database
(bot/store/sessions.py: ended by signing out, a password change or a reset), sign-in attempts that back off per
name and address (bot/store/limits.py), one-time links to choose a password (first run, or an admin's reset),
tokens shown once and kept only as a hash. A token acts as the person who created it (four eyes compares
people), never with more than that person's role."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.actions.base import WORKER_ACTOR, Actor, Context, Result, Via, action
from bot.actions.errors import ActionError, Forbidden, NotFound
from bot.states import Audit, Role
from bot.store import audit, limits
from bot.store import sessions as web_sessions
from bot.store.access import RateLimitRow, TokenRow, UserRow

if TYPE_CHECKING:
    from argon2 import PasswordHasher


class _Argon2:
    """argon2's PasswordHasher, loaded when a password is first hashed or checked: never on the daemon's way to
    its first post. (Tests put a cheaper PasswordHasher in its place.)"""

    @functools.cached_property
    def _real(self) -> PasswordHasher:
        from argon2 import PasswordHasher

        return PasswordHasher()

    def hash(self, password: str) -> str:
        return self._real.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        return self._real.verify(hashed, password)

    def check_needs_rehash(self, hashed: str) -> bool:
        return self._real.check_needs_rehash(hashed)


_hasher = _Argon2()


def _refused() -> tuple[type[Exception], ...]:
    from argon2.exceptions import InvalidHashError, VerificationError

    return VerificationError, InvalidHashError
MIN_PASSWORD = 10
FIRST_ADMIN = "admin"
LINK_LIFETIME = timedelta(hours=24)
"""A link to choose a password works once, within this long."""
PAIR_FREE, ADDRESS_FREE = 5, 20
"""Failed sign-ins that cost nothing, per name from one address and per address; each one after doubles the wait
(1 s, 2 s, 4 s...) up to BACKOFF_CAP. Never a lock: someone guessing `admin` from elsewhere slows only their own
attempts, not the admin's."""
BACKOFF_CAP = timedelta(minutes=15)


@dataclass(frozen=True)
class SignIn:
    """A sign-in's outcome: the person and their new session's id, or why not (``wait``: slow down first)."""

    actor: Actor | None
    session_id: str | None = None
    wait: timedelta | None = None


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ActionError("bad_role", "role", role=role, roles=", ".join(Role)) from None


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ActionError("short_password", "password", minimum=MIN_PASSWORD)
    return password


def _user(session: Session, name: str, *, lock: bool = False) -> UserRow:
    stmt = select(UserRow).where(UserRow.name == name)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound("no_user", "name", name=name)
    return row


@action
def add_user(ctx: Context, actor: Actor, name: str, role: str | Role, password: str | None) -> Result:
    actor.require(Role.ADMIN)
    name = name.strip()
    if not name or len(name) > 200:
        raise ActionError("user_name", "name")
    chosen = parse_role(role)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if session.scalars(select(UserRow).where(UserRow.name == name)).first() is not None:
            raise ActionError("user_exists", "name", name=name)
        hashed = _hasher.hash(_check_password(password)) if password is not None else None
        session.add(UserRow(name=name, role=chosen, password_hash=hashed, created_at=now))
        audit.record(session, now, actor.name, Audit.USER_ADD, None, name, role=str(chosen))
    return Result(True, "user_added", {"name": name, "role": str(chosen)})


@action
def remove_user(ctx: Context, actor: Actor, name: str) -> Result:
    """Their open sessions stop working at once (a session names a user who must still exist)."""
    actor.require(Role.ADMIN)
    if name == actor.name:
        raise Forbidden("remove_self")
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        row = _user(session, name, lock=True)
        web_sessions.end_all(session, row.id)
        session.delete(row)
        audit.record(session, now, actor.name, Audit.USER_REMOVE, None, name)
    return Result(True, "user_removed", {"name": name})


@action
def set_role(ctx: Context, actor: Actor, name: str, role: str | Role) -> Result:
    actor.require(Role.ADMIN)
    if name == actor.name:
        raise Forbidden("own_role")
    chosen = parse_role(role)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        _user(session, name, lock=True).role = chosen
        audit.record(session, now, actor.name, Audit.USER_SET_ROLE, None, name, role=str(chosen))
    return Result(True, "role_set", {"name": name, "role": str(chosen)})


@action
def set_language(ctx: Context, actor: Actor, name: str, language: str | None, offered: Sequence[str]) -> Result:
    """The language ``name`` reads the web app in (None: their browser's). Anyone sets their own; an admin sets
    anyone's. ``offered``: the languages the web app has catalogues for."""
    if name != actor.name:
        actor.require(Role.ADMIN)
    elif actor.role is None:
        actor.require(Role.ORGANISER)
    if language and language not in offered:
        raise ActionError("unknown_ui_language", "language", language=language, languages=", ".join(offered))
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        _user(session, name, lock=True).language = language or None
        audit.record(session, now, actor.name, Audit.USER_SET_LANGUAGE, None, name, language=language or "")
    return Result(True, "language_set" if language else "language_cleared", {"name": name, "language": language})


@action
def set_password(ctx: Context, actor: Actor, name: str, password: str, again: str | None = None) -> Result:
    """An admin sets someone's password: every session of theirs ends. (One's own: change_password, which asks
    for the current one.)"""
    actor.require(Role.ADMIN)
    if again is not None and again != password:
        raise ActionError("passwords_differ", "again")
    hashed = _hasher.hash(_check_password(password))
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        row = _user(session, name, lock=True)
        row.password_hash = hashed
        web_sessions.end_all(session, row.id)
        audit.record(session, now, actor.name, Audit.USER_SET_PASSWORD, None, name)
    return Result(True, "password_set", {"name": name})


@action
def create_token(ctx: Context, actor: Actor, name: str, role: str | Role) -> tuple[Result, str]:
    """A new API token acting as ``actor`` (with ``role`` at most theirs); only its hash is kept, so this is the
    one time it is seen."""
    chosen = parse_role(role)
    actor.require(chosen)
    token = "cb_" + secrets.token_urlsafe(32)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if session.scalars(select(TokenRow).where(TokenRow.name == name)).first() is not None:
            raise ActionError("token_exists", "name", name=name)
        session.add(TokenRow(name=name, role=chosen, token_hash=sha256(token), created_at=now, created_by=actor.name))
        audit.record(session, now, actor.name, Audit.TOKEN_CREATE, None, name, role=str(chosen))
    return Result(True, "token_created", {"name": name, "role": str(chosen), "owner": actor.name}), token


def _password_link(session: Session, row: UserRow, now: datetime, base_url: str) -> str:
    token = secrets.token_urlsafe(32)
    row.signin_token_hash, row.signin_token_expires_at = sha256(token), now + LINK_LIFETIME
    return f"{base_url.rstrip('/')}/login/once?token={token}"


def first_run_link(ctx: Context, base_url: str) -> str | None:
    """With no users yet: create the first admin, without a password, and return a one-time link to choose one."""
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if session.scalar(select(func.count()).select_from(UserRow)):
            return None
        row = UserRow(name=FIRST_ADMIN, role=Role.ADMIN, password_hash=None, created_at=now)
        session.add(row)
        audit.record(session, now, WORKER_ACTOR.name, Audit.USER_ADD, None, "admin (first run)", role=str(Role.ADMIN))
        return _password_link(session, row, now, base_url)


@action
def issue_password_link(ctx: Context, actor: Actor, name: str, base_url: str) -> tuple[Result, str]:
    """A link for ``name`` to choose a new password: it works once, for LINK_LIFETIME, and using it ends their
    other sessions. Their password works until then; the link replaces any earlier one."""
    actor.require(Role.ADMIN)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        row = _user(session, name, lock=True)
        link = _password_link(session, row, now, base_url)
        forgiven = RateLimitRow.key.startswith(f"login:{_folded(name)}|", autoescape=True)
        session.execute(delete(RateLimitRow).where(forgiven))
        audit.record(session, now, actor.name, Audit.USER_PASSWORD_LINK, None, name)
    return Result(True, "password_link", {"name": name, "hours": int(LINK_LIFETIME.total_seconds() // 3600)}), link


def _link_row(session: Session, token: str, now: datetime) -> UserRow | None:
    row = session.scalars(select(UserRow).where(UserRow.signin_token_hash == sha256(token))).first()
    if row is None or row.signin_token_expires_at is None or row.signin_token_expires_at <= now:
        return None
    return row


def link_holder(ctx: Context, token: str) -> str | None:
    """Whose password a link would set, while it works (reading only: a link previewer spends nothing)."""
    with ctx.sessions() as session:
        row = _link_row(session, token, ctx.clock.now())
        return row.name if row else None


@action
def use_password_link(ctx: Context, token: str, password: str, again: str) -> SignIn:
    """Choose a password with a one-time link: it is spent, the person's other sessions end, and they are signed
    in (a new session)."""
    if again != password:
        raise ActionError("passwords_differ", "again")
    hashed = _hasher.hash(_check_password(password))
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        row = _link_row(session, token, now)
        if row is None:
            raise ActionError("link_spent", "token")
        row.password_hash, row.signin_token_hash, row.signin_token_expires_at = hashed, None, None
        web_sessions.end_all(session, row.id)
        audit.record(session, now, row.name, Audit.USER_SET_PASSWORD, None, row.name, via="link")
        who = _signed_in(session, row, now, Via.WEB)
        return SignIn(who, web_sessions.start(session, row.id, now))


def _signed_in(session: Session, row: UserRow, now: datetime, via: Via) -> Actor:
    audit.record(session, now, row.name, Audit.SIGN_IN, None, None)
    return Actor(row.name, Role(row.role), via)


def _folded(name: str) -> str:
    return name.strip().lower()


def sign_in(ctx: Context, name: str, password: str, address: str = "?") -> SignIn:
    """The person and a new session, if the password is theirs (as long to answer for an unknown name as for a
    wrong password). Attempts back off per (name, address) and per address; one attempt per (name, address) is
    checked at a time, so concurrent guesses never pass the limit."""
    now = ctx.clock.now()
    pair, place = f"login:{_folded(name)}|{address}"[:300], f"address:{address}"[:300]
    with ctx.sessions.begin() as session:
        if limits.wait(session, place, now):
            return SignIn(None, wait=limits.wait(session, place, now))
        if not limits.claim(session, pair, now):
            return SignIn(None, wait=max(limits.wait(session, pair, now), timedelta(seconds=1)))
    with ctx.sessions() as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name.strip())).first()
        stored = row.password_hash if row else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
        good = row is not None and stored is not None
    except _refused():
        good = False
    with ctx.sessions.begin() as session:
        if not good or row is None:
            limits.failed(session, pair, now, free=PAIR_FREE, cap=BACKOFF_CAP)
            limits.failed(session, place, now, free=ADDRESS_FREE, cap=BACKOFF_CAP)
            return SignIn(None)
        limits.succeeded(session, pair, now)
        limits.purge(session, now)
        row = session.get(UserRow, row.id)
        if row is None or row.password_hash != stored:  # removed or changed meanwhile
            return SignIn(None)
        if stored is not None and _hasher.check_needs_rehash(stored):
            row.password_hash = _hasher.hash(password)
        return SignIn(_signed_in(session, row, now, Via.WEB), web_sessions.start(session, row.id, now))


def session_actor(ctx: Context, session_id: str, via: Via = Via.WEB) -> Actor | None:
    """Who a session belongs to while it lives (expired, idle, signed out or ended: nobody)."""
    with ctx.sessions.begin() as session:
        row = web_sessions.user_of(session, session_id, ctx.clock.now())
        return Actor(row.name, Role(row.role), via) if row else None


@action
def sign_out(ctx: Context, actor: Actor, session_id: str) -> Result:
    """End this session (the cookie is cleared too, but a copy of it no longer signs anyone in)."""
    with ctx.sessions.begin() as session:
        web_sessions.end(session, session_id)
        web_sessions.purge(session, ctx.clock.now())
    return Result(True, "signed_out")


@action
def change_password(ctx: Context, actor: Actor, current: str, password: str, again: str,
                    session_id: str | None = None) -> tuple[Result, str | None]:
    """One's own password, after the current one: every other session of theirs ends, and this one gets a new
    id (returned)."""
    if again != password:
        raise ActionError("passwords_differ", "again")
    hashed = _hasher.hash(_check_password(password))
    with ctx.sessions() as session:
        stored = _user(session, actor.name).password_hash
    try:
        _hasher.verify(stored or _dummy_hash(), current)
    except _refused():
        raise ActionError("wrong_password", "current") from None
    if stored is None:
        raise ActionError("wrong_password", "current")
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        row = _user(session, actor.name, lock=True)
        row.password_hash = hashed
        web_sessions.end_all(session, row.id)
        audit.record(session, now, actor.name, Audit.USER_SET_PASSWORD, None, actor.name)
        renewed = web_sessions.start(session, row.id, now) if session_id is not None else None
    return Result(True, "password_set", {"name": actor.name}), renewed


def person(ctx: Context, name: str, via: Via = Via.WEB) -> Actor | None:
    """The user as the database knows them now: a removed user's cookie signs in no one."""
    with ctx.sessions() as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
        return Actor(row.name, Role(row.role), via) if row else None


def token_actor(ctx: Context, token: str) -> Actor | None:
    """Who a bearer token acts as: the person who created it, with the token's role at most (and at most theirs,
    while they are a user)."""
    with ctx.sessions.begin() as session:
        row = session.scalars(select(TokenRow).where(TokenRow.token_hash == sha256(token))).first()
        if row is None:
            return None
        row.last_used_at = ctx.clock.now()
        owner = row.created_by or f"token:{row.name}"
        role = Role(row.role)
        user = session.scalars(select(UserRow.role).where(UserRow.name == owner)).first()
        if user is not None and not Role(user).covers(role):
            role = Role(user)
        return Actor(owner, role, Via.API)
