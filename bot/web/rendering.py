"""Rendering pages: the templates and the one-shot flash message (the routers and the app both use them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bot.web.auth import csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    flash = request.session.pop("flash", None)
    ctx = {"person": getattr(request.state, "person", None), "csrf": csrf_token(request), "flash": flash,
           "stop": None, **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session["flash"] = {"message": message, "kind": kind}
