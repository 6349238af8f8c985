"""Signing in and out: the login form (rate limited), the first-run link, changing one's password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.actions import people
from bot.actions.base import Actor
from bot.actions.errors import ActionError
from bot.states import Role
from bot.web.auth import CSRF, PUBLIC, require
from bot.web.rendering import flash, render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would make the login page a phishing tool."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _sign_in(request: Request, who: Actor, next_url: str) -> Response:
    request.session.clear()  # a fresh session (and CSRF token) for every sign-in
    request.session["user"] = who.name
    return RedirectResponse(next_url, status_code=303)


@router.get("/login", dependencies=[Depends(require(PUBLIC))])
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "name": "", "error": None})


@router.post("/login", dependencies=[Depends(require(PUBLIC)), CSRF])
def login(request: Request, name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    core = request.app.state.core
    limiter = request.app.state.limiter
    address = request.client.host if request.client else "?"
    context = {"next": _safe_next(next), "name": name}
    if limiter.blocked(name, address):
        return render(request, "login.html", {**context, "error": "Too many failed attempts: wait 15 minutes, "
                                                                  "or ask an admin to reset your password."}, 429)
    who = people.sign_in(core, name, password)
    if who is None:
        limiter.failed(name, address)
        return render(request, "login.html", {**context, "error": "Wrong name or password."}, 400)
    return _sign_in(request, who, _safe_next(next))


@router.get("/login/once", dependencies=[Depends(require(PUBLIC))])
def login_once(request: Request, token: str = "") -> Response:
    who = people.sign_in_once(request.app.state.core, token) if token else None
    if who is None:
        return render(request, "error.html", {"title": "This link was used already",
                                              "message": "A sign-in link works once. Sign in with your password, "
                                                         "or ask an admin for a new account."}, 400)
    response = _sign_in(request, who, "/password")
    flash(request, f"Signed in as {who.name}. Choose a password now: the link does not work again.")
    return response


@router.post("/logout", dependencies=[CSRF])
def logout(request: Request, who: Annotated[Actor, Depends(require(Role.ORGANISER))]) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/password")
def password_page(request: Request, who: Annotated[Actor, Depends(require(Role.ORGANISER))]) -> Response:
    return render(request, "password.html", {"error": None})


@router.post("/password", dependencies=[CSRF])
def password_change(request: Request, who: Annotated[Actor, Depends(require(Role.ORGANISER))],
                    password: Annotated[str, Form()] = "", again: Annotated[str, Form()] = "") -> Response:
    try:
        people.set_password(request.app.state.core, who, who.name, password, again)
    except ActionError as exc:
        return render(request, "password.html", {"error": exc.message[:1].upper() + exc.message[1:] + "."}, 400)
    flash(request, "Password changed.")
    return RedirectResponse("/", status_code=303)
