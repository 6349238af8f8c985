"""People who sign in to the web app, and API tokens: argon2 password hashes, one-time sign-in links, tokens
shown once and kept only as a hash. A token acts as the person who created it (four eyes compares people),
never with more than that person's role."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.actions.base import WORKER_ACTOR, Actor, Context, Result, Via, action
from bot.actions.errors import ActionError, Forbidden, NotFound
from bot.states import Audit, Role
from bot.store import audit
from bot.store.access import TokenRow, UserRow

_hasher = PasswordHasher()
MIN_PASSWORD = 10
FIRST_ADMIN = "admin"


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
        session.delete(_user(session, name, lock=True))
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
def set_password(ctx: Context, actor: Actor, name: str, password: str, again: str | None = None) -> Result:
    """One's own password, or anyone's for an admin."""
    if name != actor.name:
        actor.require(Role.ADMIN)
    if again is not None and again != password:
        raise ActionError("passwords_differ", "again")
    hashed = _hasher.hash(_check_password(password))
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        _user(session, name, lock=True).password_hash = hashed
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


def first_run_link(ctx: Context, base_url: str) -> str | None:
    """With no users yet: create the first admin, without a password, and return a one-time sign-in link."""
    token = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if session.scalar(select(func.count()).select_from(UserRow)):
            return None
        session.add(UserRow(name=FIRST_ADMIN, role=Role.ADMIN, password_hash=None, signin_token_hash=sha256(token),
                            created_at=now))
        audit.record(session, now, WORKER_ACTOR.name, Audit.USER_ADD, None, "admin (first run)", role=str(Role.ADMIN))
    return f"{base_url.rstrip('/')}/login/once?token={token}"


def _signed_in(session: Session, row: UserRow, now: datetime, via: Via) -> Actor:
    audit.record(session, now, row.name, Audit.SIGN_IN, None, None)
    return Actor(row.name, Role(row.role), via)


def sign_in(ctx: Context, name: str, password: str) -> Actor | None:
    """The person, if the password is theirs (as long to answer for an unknown name as for a wrong password)."""
    with ctx.sessions.begin() as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name.strip())).first()
        try:
            _hasher.verify(row.password_hash if row and row.password_hash else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.password_hash is None:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        return _signed_in(session, row, ctx.clock.now(), Via.WEB)


def sign_in_once(ctx: Context, token: str) -> Actor | None:
    """A one-time sign-in link: spent when used."""
    with ctx.sessions.begin() as session:
        row = session.scalars(select(UserRow).where(UserRow.signin_token_hash == sha256(token))).first()
        if row is None:
            return None
        row.signin_token_hash = None
        return _signed_in(session, row, ctx.clock.now(), Via.WEB)


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
