"""The admin's page for people: add, change role, remove (the same functions as `campaign-bot users`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.errors import UserError
from bot.store.access import ROLES
from bot.web import users
from bot.web.auth import CSRF, require
from bot.web.rendering import flash, render
from bot.web.users import Person

router = APIRouter(include_in_schema=False)
Admin = Annotated[Person, Depends(require("admin"))]


def _page(request: Request, form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> Response:
    return render(request, "users.html", {"users": users.list_users(request.app.state.core), "roles": ROLES,
                                          "form": form or {"name": "", "role": "organiser"},
                                          "errors": errors or {}}, status)


@router.get("/users")
def users_page(request: Request, who: Admin) -> Response:
    return _page(request)


@router.post("/users", dependencies=[CSRF])
def add(request: Request, who: Admin, name: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "") -> Response:
    form = {"name": name, "role": role}
    try:
        users.add_user(request.app.state.core, name, role, password, who.name)
    except UserError as exc:
        message = str(exc)
        field = next((f for f in ("password", "role", "name") if message.startswith(f)), "name")
        return _page(request, form, {field: message}, 400)
    flash(request, f"added {name.strip()} ({role})")
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}/role", dependencies=[CSRF])
def set_role(request: Request, name: str, who: Admin, role: Annotated[str, Form()] = "") -> Response:
    if name == who.name:
        raise UserError("you cannot change your own role: ask another admin")
    users.set_role(request.app.state.core, name, role, who.name)
    flash(request, f"{name} is now {role}")
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}/remove", dependencies=[CSRF])
def remove(request: Request, name: str, who: Admin) -> Response:
    if name == who.name:
        raise UserError("you cannot remove yourself: ask another admin")
    users.remove_user(request.app.state.core, name, who.name)
    flash(request, f"removed {name}")
    return RedirectResponse("/users", status_code=303)
