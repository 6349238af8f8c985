"""Signing in and out: the login form (slowed down after failures), links to choose a password (first run, an
admin's reset), changing one's password. Each calls an action in bot/actions/people.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.actions import people
from bot.actions.base import Actor
from bot.actions.errors import ActionError
from bot.states import Role
from bot.web.auth import CSRF, PUBLIC, require
from bot.web.rendering import flash, render, said

router = APIRouter(include_in_schema=False)
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
"""A page whose address holds a secret (a password link): kept by no cache, sent to no other site."""


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would make the login page a phishing tool."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _sentence(request: Request, exc: ActionError) -> str:
    text = said(request, exc)
    return text[:1].upper() + text[1:] + "."


def _sign_in(request: Request, session_id: str, next_url: str) -> Response:
    request.session.clear()  # a fresh cookie (and CSRF token) for every sign-in: no session fixation
    request.session["sid"] = session_id
    return RedirectResponse(next_url, status_code=303)


@router.get("/login", dependencies=[Depends(require(PUBLIC))])
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "name": "", "error": None})


@router.post("/login", dependencies=[Depends(require(PUBLIC)), CSRF])
def login(request: Request, name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    address = request.client.host if request.client else "?"  # behind a proxy: see `web --forwarded-allow-ips`
    context = {"next": _safe_next(next), "name": name}
    outcome = people.sign_in(request.app.state.core, name, password, address)
    if outcome.wait is not None:
        seconds = max(1, int(outcome.wait.total_seconds() + 0.999))
        response = render(request, "login.html", {**context, "error": f"Too many failed attempts: try again in "
                                                  f"{seconds} s, or ask an admin for a link to choose a new "
                                                  "password."}, 429)
        response.headers["Retry-After"] = str(seconds)
        return response
    if outcome.actor is None or outcome.session_id is None:
        return render(request, "login.html", {**context, "error": "Wrong name or password."}, 400)
    return _sign_in(request, outcome.session_id, _safe_next(next))


def _link_page(request: Request, token: str, error: str | None = None, status: int = 200) -> Response:
    name = people.link_holder(request.app.state.core, token) if token else None
    if name is None:
        response = render(request, "error.html", {
            "title": "This link does not work any more",
            "message": "A link to choose a password works once, for a day. Sign in with your password, or ask an "
                       "admin for a new link."}, 400)
    else:
        response = render(request, "password_link.html", {"name": name, "token": token, "error": error}, status)
    response.headers.update(PRIVATE)
    return response


@router.get("/login/once", dependencies=[Depends(require(PUBLIC))])
def password_link(request: Request, token: str = "") -> Response:
    """The link shows a form; only sending it spends the link (a link previewer's GET spends nothing)."""
    return _link_page(request, token)


@router.post("/login/once", dependencies=[Depends(require(PUBLIC)), CSRF])
def use_password_link(request: Request, token: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                      again: Annotated[str, Form()] = "") -> Response:
    try:
        outcome = people.use_password_link(request.app.state.core, token, password, again)
    except ActionError as exc:
        return _link_page(request, token, _sentence(request, exc), exc.status)
    assert outcome.actor is not None and outcome.session_id is not None
    response = _sign_in(request, outcome.session_id, "/")
    flash(request, f"Signed in as {outcome.actor.name}, with your new password. The link does not work again.")
    response.headers.update(PRIVATE)
    return response


@router.post("/logout", dependencies=[CSRF])
def logout(request: Request, who: Annotated[Actor, Depends(require(Role.ORGANISER))]) -> Response:
    session_id = request.session.get("sid")
    if isinstance(session_id, str):
        people.sign_out(request.app.state.core, who, session_id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/password")
def password_page(request: Request, who: Annotated[Actor, Depends(require(Role.ORGANISER))]) -> Response:
    return render(request, "password.html", {"errors": {}})


@router.post("/password", dependencies=[CSRF])
def password_change(request: Request, who: Annotated[Actor, Depends(require(Role.ORGANISER))],
                    current: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                    again: Annotated[str, Form()] = "") -> Response:
    session_id = request.session.get("sid")
    try:
        _, renewed = people.change_password(request.app.state.core, who, current, password, again,
                                            session_id if isinstance(session_id, str) else None)
    except ActionError as exc:
        field = exc.field if exc.field in ("current", "again") else "password"
        return render(request, "password.html", {"errors": {field: _sentence(request, exc)}}, exc.status)
    if renewed is not None:
        request.session["sid"] = renewed  # a new id: a copy of the old cookie signs nobody in
    flash(request, "Password changed. Your other sessions are signed out.")
    return RedirectResponse("/", status_code=303)
