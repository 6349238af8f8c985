"""The API's description: /openapi.json and Swagger UI at /docs, for people signed in (or holding a token).

Swagger UI is served from this site (the files fastapi-offline ships), never from a CDN, and its page has no
inline script, so the Content-Security-Policy holds there too (bot/web/headers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import fastapi_offline
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bot.actions.base import Actor
from bot.states import Role
from bot.web.auth import require

ASSETS = Path(fastapi_offline.__file__).parent / "static"
router = APIRouter(include_in_schema=False)
Organiser = Annotated[Actor, Depends(require(Role.ORGANISER))]
PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>campaign-bot API</title>
<link rel="stylesheet" href="/static/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/docs/swagger-ui-bundle.js"></script>
<script src="/static/docs-init.js"></script>
</body>
</html>
"""


@router.get("/openapi.json")
def openapi(request: Request, who: Organiser) -> Response:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def docs(request: Request, who: Organiser) -> Response:
    return HTMLResponse(PAGE)
