"""The admin's page for people: add, change role, a link to choose a new password, remove (the same actions as
`campaign-bot users`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.actions import people
from bot.actions.base import Actor
from bot.actions.errors import ActionError
from bot.queries.people import list_users
from bot.states import Role
from bot.web.auth import CSRF, require
from bot.web.rendering import field_errors, flash, render, said

router = APIRouter(include_in_schema=False)
Admin = Annotated[Actor, Depends(require(Role.ADMIN))]


def _page(request: Request, form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200, link: dict[str, str] | None = None) -> Response:
    return render(request, "users.html", {"users": list_users(request.app.state.core), "roles": [str(r) for r in Role],
                                          "form": form or {"name": "", "role": "organiser"},
                                          "errors": errors or {}, "link": link}, status)


@router.get("/users")
def users_page(request: Request, who: Admin) -> Response:
    return _page(request)


@router.post("/users", dependencies=[CSRF])
def add(request: Request, who: Admin, name: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "") -> Response:
    form = {"name": name, "role": role}
    try:
        result = people.add_user(request.app.state.core, who, name, role, password)
    except ActionError as exc:
        return _page(request, form, field_errors(exc, ("name", "role", "password"), "name"), exc.status)
    flash(request, said(request, result))
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}/role", dependencies=[CSRF])
def set_role(request: Request, name: str, who: Admin, role: Annotated[str, Form()] = "") -> Response:
    flash(request, said(request, people.set_role(request.app.state.core, who, name, role)))
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}/remove", dependencies=[CSRF])
def remove(request: Request, name: str, who: Admin) -> Response:
    flash(request, said(request, people.remove_user(request.app.state.core, who, name)))
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}/password-link", dependencies=[CSRF])
def password_link(request: Request, name: str, who: Admin) -> Response:
    """Shown once, on this answer (never in a cookie or a redirect): the admin passes it on."""
    core = request.app.state.core
    base = core.config.amplify.public_url or str(request.base_url)
    result, link = people.issue_password_link(core, who, name, base)
    response = _page(request, link={"name": name, "url": link, "message": said(request, result)})
    response.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    return response
