"""Rendering pages: the templates, the one-shot flash message, and an action's refusal shown beside the form
field it is about (the routers and the app use them)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from bot.actions.base import Result
from bot.actions.errors import ActionError
from bot.campaigns import characters
from bot.queries.attention import console_mode
from bot.web import times
from bot.web.auth import csrf_token
from bot.web.i18n import N_, action_message, gettext, template_context

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# Every string a page shows is written {{ _("...") }} (or {% trans %}). The environment is shared by every
# request, so it keeps the null translations (English); each page's context carries its request's own gettext
# and ngettext (bot/web/i18n.py: template_context), which `_` and {% trans %} resolve first.
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]


def web_address(value: object) -> str | None:
    """``value`` if it is an http(s) address, else None. Addresses a network or a supporter's server gave (a
    post's URL, a reply's link) go into href only through this: never javascript:, data: or a relative path."""
    if not isinstance(value, str) or not value or characters.forbidden(value) or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


templates.env.filters["web_address"] = web_address
templates.env.filters["when"] = times.when_filter
templates.env.filters["form_time"] = times.form_value
templates.env.filters["day"] = times.day_filter

WORDS = {w.replace(" ", "_"): w for w in (
    N_("planned"), N_("sending"), N_("sent"), N_("cancelled"), N_("failed"), N_("missed"), N_("unknown"),
    N_("awaiting approval"), N_("held"), N_("rejected"), N_("being checked"), N_("active"), N_("paused"), N_("closed"),
    N_("call to action"), N_("closing"), N_("update"), N_("queued"), N_("success"), N_("no further action"),
    N_("ok"), N_("rate limited"), N_("misconfigured"), N_("disabled"))}
"""The words of state (bot/states.py) as pages show them, each translatable."""


@pass_context
def word(ctx: Any, value: object) -> str:
    """A state's word (``planned``, ``awaiting_approval``) in the page's language."""
    text = str(value)
    return gettext(ctx.get("request"), WORDS[text]) if text in WORDS else text.replace("_", " ")


templates.env.filters["word"] = word


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200,
           anchors: Collection[str] = ()) -> Response:
    """``anchors``: the places on this page where a result is shown beside what it is about (a timeline's row,
    the dashboard's "Needs a person"): a flash for one of them is shown there, not at the top of the page."""
    flash = request.session.pop("flash", None)
    here = flash if isinstance(flash, dict) and flash.get("anchor") in anchors else None
    core = getattr(request.app.state, "core", None)
    ctx = {"person": getattr(request.state, "person", None), "csrf": csrf_token(request),
           "flash": None if here else flash, "flash_here": here or {}, "stop": None,
           "console": console_mode(core) if core is not None else None, **template_context(request),
           **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def flash(request: Request, message: str, kind: str = "ok", anchor: str | None = None) -> None:
    """A one-shot message for the next page; ``anchor``: the place it is about (see render's ``anchors``)."""
    request.session["flash"] = {"message": message, "kind": kind, "anchor": anchor}


def local_path(value: str | None, fallback: str) -> str:
    """``value`` if it is a path on this site (where a form came from), else ``fallback``: never another site."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")) and not characters.forbidden(value):
        return value
    return fallback


def said(request: Request, outcome: Result | ActionError) -> str:
    """What an action answered (its result or its refusal), in the page's language."""
    return action_message(request, outcome.code, outcome.params)


def field_errors(exc: ActionError, fields: Sequence[str], fallback: str,
                 request: Request | None = None) -> dict[str, str]:
    """The refusal under the form field it is about (``fallback`` when it is about none of the form's)."""
    field = exc.field if exc.field is not None and exc.field in fields else fallback
    return {field: action_message(request, exc.code, exc.params) if request is not None else exc.message}
