"""Build the web app around an App from bootstrap(): it never starts the scheduler (the worker does)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import itsdangerous
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from bot.actions.base import Approvals
from bot.actions.errors import ActionError
from bot.alerts.runner import running as alerts_running
from bot.bootstrap import App
from bot.config.keys import SESSION_COOKIE, derived, raw_keys
from bot.errors import NotFound, UserError
from bot.web.auth import Forbidden, NotSignedIn
from bot.web.headers import SecurityHeaders
from bot.web.i18n import action_message, gettext
from bot.web.rendering import render

HERE = Path(__file__).parent
APPROVAL_ENV = "CAMPAIGN_BOT_APPROVAL"
CLOSE_APPROVAL_ENV = "CAMPAIGN_BOT_CLOSE_APPROVAL"
SESSION_HOURS = 12


def cookie_keys(explicit: str | None = None) -> list[bytes]:
    """The keys that sign session cookies, the signing one last (itsdangerous verifies with each, signs with the
    last): derived from $CAMPAIGN_BOT_SECRET_KEY for this purpose alone (bot/config/keys.py), so rotating the
    master key keeps people signed in until the old key is dropped. Without it, a key made for this process
    (sessions end when it restarts): never a key kept in the database."""
    if explicit:
        return [explicit.encode()]
    keys = raw_keys()
    if keys:
        return list(reversed(derived(keys, SESSION_COOKIE)))
    return [secrets.token_bytes(32)]


class SignedSessions(SessionMiddleware):
    """Starlette's session cookie, signed with a list of keys (it takes one string)."""

    def __init__(self, app: ASGIApp, /, *, keys: list[bytes], **options: Any) -> None:
        super().__init__(app, secret_key="-", **options)
        self.signer = itsdangerous.TimestampSigner(keys)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/openapi.json")


def create_app(core: App, *, secret_key: str | None = None, https_only: bool = False,
               approval_default: str | None = None, close_approval_default: str | None = None) -> FastAPI:
    from bot.web import admin, api, connect, docs, ops, pages, posts, public, settings, signin

    @asynccontextmanager
    async def lifespan(_web: FastAPI) -> AsyncIterator[None]:
        with alerts_running(core):  # detection (worker_down too) and sending, on a thread of its own
            yield

    web = FastAPI(title="campaign-bot", version="1", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan,
                  description="Queue posts, close campaigns and stop everything, as the CLI does. "
                              "Authenticate with `Authorization: Bearer <token>` (`campaign-bot tokens create`).")
    web.state.core = core
    web.state.approvals = Approvals(
        posts=(approval_default or os.environ.get(APPROVAL_ENV) or "none") == "required",
        closes=(close_approval_default or os.environ.get(CLOSE_APPROVAL_ENV) or "none") == "required")
    web.add_middleware(SignedSessions, keys=cookie_keys(secret_key), session_cookie="campaign_bot",
                       max_age=SESSION_HOURS * 3600, same_site="lax", https_only=https_only)
    web.add_middleware(SecurityHeaders, https=https_only, local_servers=core.config.amplify.local_servers is True,
                       images=core.config.organisation.logo_origin)
    web.mount("/static/docs", StaticFiles(directory=str(docs.ASSETS)), name="docs-assets")
    web.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (signin, pages, posts, admin, api, ops, public, connect, docs, settings):
        web.include_router(module.router)

    @web.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "authentication required: send Authorization: Bearer <token>"}, 401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @web.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, 403)
        return render(request, "error.html", {"title": gettext(request, "Not allowed"), "message": gettext(
            request, "{refusal}; ask an admin.", refusal=action_message(request, "needs_role", {"role": exc.role}))},
                      403)

    @web.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        """An action's refusal (or another user error): a JSON problem naming its field by pointer, or the
        error page saying it in a sentence."""
        if isinstance(exc, ActionError):
            status = exc.status
            body: dict[str, object] = {"detail": action_message(request, exc.code, exc.params), "code": exc.code,
                                       "pointer": f"/{exc.field}" if exc.field else None,
                                       "params": {k: str(v) for k, v in exc.params.items()}}
        else:
            status = 404 if isinstance(exc, NotFound) else 400
            body = {"detail": str(exc)}
        if _wants_json(request):
            return JSONResponse(body, status)
        message = str(body["detail"])
        return render(request, "error.html", {"title": gettext(request, "That did not work"),
                                              "message": message[:1].upper() + message[1:]}, status)

    @web.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        return render(request, "error.html", {"title": gettext(request, "That did not work"),
                                              "message": str(exc.detail)}, exc.status_code)

    @web.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [{"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "message": e["msg"]}
                    for e in exc.errors()]
        if _wants_json(request):
            return JSONResponse({"detail": problems}, 422)
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return render(request, "error.html", {"title": gettext(request, "Please check the form"), "message": text},
                      400)

    return web
