"""Who is asking, and may they: sessions for people (the cookie carries a session id, the database says whose
it is and whether it still lives), bearer tokens for scripts, CSRF.

Every route declares the least role it needs with ``Depends(require(ROLE))`` (or ``public``); the route
table test fails for a route without one. The actions check the role again (bot/actions/): this only refuses
early, with the page or status code each surface uses.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request

from bot.actions import people
from bot.actions.base import Actor, Via
from bot.states import Role

PUBLIC = "public"


class NotSignedIn(Exception):
    """Raised by require(): pages answer with a redirect to /login, the API with 401."""


class Forbidden(Exception):
    def __init__(self, role: str) -> None:
        super().__init__(f"this needs the {role} role")
        self.role = role


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_person(request: Request) -> Actor | None:
    core = request.app.state.core
    token = _bearer(request)
    if token is not None:
        return people.token_actor(core, token)
    if request.url.path.startswith("/api/"):
        return None  # the API takes tokens only, so a cookie cannot be replayed cross-site against it
    session_id = request.session.get("sid")
    return people.session_actor(core, session_id, Via.WEB) if isinstance(session_id, str) else None


def require(role: Role | str) -> Callable[[Request], Actor | None]:
    """``role``: the least role the route needs, or PUBLIC."""
    def dependency(request: Request) -> Actor | None:
        if role == PUBLIC:
            return current_person(request)
        who = current_person(request)
        if who is None:
            raise NotSignedIn()
        if not who.can(Role(role)):
            raise Forbidden(role)
        request.state.person = who
        return who

    dependency.rule = role  # type: ignore[attr-defined]  # read by the route table test
    return dependency


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Every form POST carries the session's token in a hidden field named csrf."""
    form = await request.form()
    sent = form.get("csrf")
    expected = request.session.get("csrf")
    if (not isinstance(sent, str) or not isinstance(expected, str)
            or not hmac.compare_digest(sent.encode(), expected.encode())):  # bytes: str must be ASCII
        raise HTTPException(status_code=403, detail="the form expired or came from another site: reload the page "
                                                    "and try again")


CSRF = Depends(check_csrf)
