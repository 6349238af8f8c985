"""Rendering pages: the templates, the one-shot flash message, and an action's refusal shown beside the form
field it is about (the routers and the app use them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bot.actions.errors import ActionError
from bot.campaigns import characters
from bot.web.auth import csrf_token
from bot.web.i18n import action_message, template_context

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


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    flash = request.session.pop("flash", None)
    ctx = {"person": getattr(request.state, "person", None), "csrf": csrf_token(request), "flash": flash,
           "stop": None, **template_context(request), **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session["flash"] = {"message": message, "kind": kind}


def field_errors(exc: ActionError, fields: Sequence[str], fallback: str,
                 request: Request | None = None) -> dict[str, str]:
    """The refusal under the form field it is about (``fallback`` when it is about none of the form's)."""
    field = exc.field if exc.field is not None and exc.field in fields else fallback
    return {field: action_message(request, exc.code, exc.params) if request is not None else exc.message}
