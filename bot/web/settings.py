"""A person's own settings in the web app: the language its pages speak (bot/web/i18n.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.actions import people
from bot.actions.base import Actor
from bot.actions.errors import ActionError
from bot.queries.people import language_of
from bot.states import Role
from bot.web.auth import CSRF, require
from bot.web.i18n import action_message, catalogued, language_name
from bot.web.rendering import flash, render

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Actor, error: str | None = None, status: int = 200) -> Response:
    own = language_of(request.app.state.core, who.name)
    choices = [(code, language_name(code)) for code in catalogued()]
    return render(request, "language.html", {"choices": choices, "own": own or "", "error": error}, status)


@router.get("/language")
def language_page(request: Request, who: Annotated[Actor, Depends(require(Role.ORGANISER))]) -> Response:
    return _page(request, who)


@router.post("/language", dependencies=[CSRF])
def language_change(request: Request, who: Annotated[Actor, Depends(require(Role.ORGANISER))],
                    language: Annotated[str, Form()] = "") -> Response:
    core = request.app.state.core
    try:
        result = people.set_language(core, who, who.name, language or None, catalogued())
    except ActionError as exc:
        return _page(request, who, action_message(request, exc.code, exc.params), exc.status)
    request.state.language = None  # read again: the confirmation speaks the language just chosen
    params = {**result.params, "language": language_name(language)} if language else result.params
    flash(request, action_message(request, result.code, params))
    return RedirectResponse("/", status_code=303)
