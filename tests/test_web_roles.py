"""The role table: every route has a rule, and each role gets exactly what its rule allows.

A new route without a line in RULES fails test_every_route_has_a_rule_in_the_table.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from bot.web.app import create_app
from tests.web_fixtures import ROLES, Web, csrf_of, token_for, web  # noqa: F401 - the fixture

__all__ = ["web"]

# (method, path) -> the least role that may use it ("public": anyone).
RULES: dict[tuple[str, str], str] = {
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("GET", "/login/once"): "public",
    ("GET", "/docs"): "organiser",
    ("GET", "/openapi.json"): "organiser",
    ("POST", "/login/once"): "public",
    ("POST", "/logout"): "organiser",
    ("GET", "/password"): "organiser",
    ("POST", "/password"): "organiser",
    ("GET", "/language"): "organiser",
    ("POST", "/language"): "organiser",
    ("GET", "/"): "organiser",
    ("POST", "/stop"): "staff",
    ("POST", "/stop/lift"): "staff",
    ("GET", "/campaigns/{campaign}"): "organiser",
    ("POST", "/campaigns/{campaign}/queue"): "organiser",
    ("GET", "/campaigns/{campaign}/measure"): "organiser",
    ("POST", "/campaigns/{campaign}/pause"): "staff",
    ("POST", "/campaigns/{campaign}/resume"): "staff",
    ("POST", "/campaigns/{campaign}/reopen"): "staff",
    ("GET", "/campaigns/{campaign}/close"): "staff",
    ("POST", "/campaigns/{campaign}/close"): "staff",
    ("GET", "/deliveries/{delivery_id}/edit"): "organiser",
    ("POST", "/deliveries/{delivery_id}/edit"): "organiser",
    ("POST", "/deliveries/{delivery_id}/cancel"): "organiser",
    ("POST", "/deliveries/{delivery_id}/resolve"): "staff",
    ("POST", "/approvals/{approval_id}/{decision}"): "staff",
    ("GET", "/accounts"): "organiser",
    ("POST", "/accounts/{account}/enable"): "admin",
    ("GET", "/audit"): "organiser",
    ("GET", "/users"): "admin",
    ("POST", "/users"): "admin",
    ("POST", "/users/{name}/role"): "admin",
    ("POST", "/users/{name}/remove"): "admin",
    ("POST", "/users/{name}/password-link"): "admin",
    ("GET", "/healthz"): "public",
    ("GET", "/metrics"): "public",
    ("GET", "/api/status"): "organiser",
    ("GET", "/api/attention"): "organiser",
    ("POST", "/api/deliveries/{delivery_id}/resolve"): "staff",
    ("GET", "/api/campaigns/{campaign}"): "organiser",
    ("POST", "/api/campaigns/{campaign}/queue"): "organiser",
    ("POST", "/api/campaigns/{campaign}/measure"): "organiser",
    ("GET", "/api/campaigns/{campaign}/close-preview"): "staff",
    ("POST", "/api/campaigns/{campaign}/close"): "staff",
    ("POST", "/api/campaigns/{campaign}/state/{action}"): "staff",
    ("POST", "/api/stop"): "staff",
    ("POST", "/api/stop/lift"): "staff",
    ("POST", "/api/deliveries/{delivery_id}/cancel"): "organiser",
    ("POST", "/api/deliveries/{delivery_id}/edit"): "organiser",
    ("POST", "/api/approvals/{approval_id}/{decision}"): "staff",
    ("GET", "/api/audit"): "organiser",
    # The share kit, its feed and short links, and supporters connecting (bot/web/public.py, connect.py).
    ("GET", "/c/{campaign_id}"): "public",
    ("GET", "/c/{campaign_id}/mastodon"): "public",
    ("GET", "/c/{campaign_id}/feed.atom"): "public",
    ("GET", "/organisation/logo"): "public",
    ("GET", "/c/{campaign_id}/letter/{language}"): "public",
    ("GET", "/s/{code}"): "public",
    ("POST", "/c/{campaign_id}/connect/mastodon"): "public",
    ("GET", "/connect/mastodon/callback"): "public",
    ("GET", "/supporters/connect/mastodon"): "public",
    ("POST", "/c/{campaign_id}/connect/bluesky"): "public",
    ("GET", "/m/{token}"): "public",
    ("POST", "/m/{token}"): "public",
    ("POST", "/m/{token}/disconnect"): "public",
}
# FastAPI's own documentation routes, public by design.
FRAMEWORK: set[str] = set()
SAMPLES = {"campaign": "test", "delivery_id": "1", "approval_id": "1", "decision": "approve", "action": "pause",
           "account": "a1", "name": "nobody", "campaign_id": "test", "code": "nosuchcode", "token": "nosuchtoken",
           "language": "en"}
JSON_BODIES = {"queue": {"text": "hi", "language": "en"}, "measure": {"text": "hi"}, "close": {"outcome": "success"},
               "stop": {"reason": "test"}, "edit": {"text": "changed"}}


def _flatten(routes: list[Any]) -> list[Any]:
    """Newer FastAPI keeps included routers as one entry each; older ones copy their routes in."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_flatten(inner.routes) if inner is not None else [route])
    return out


def _routes() -> list[tuple[str, str, APIRoute]]:
    from unittest.mock import MagicMock

    app = create_app(MagicMock(), secret_key="x" * 40)
    out: list[tuple[str, str, APIRoute]] = []
    for route in _flatten(app.routes):
        if isinstance(route, Mount) or route.path in FRAMEWORK:
            continue
        assert isinstance(route, APIRoute), route
        out.extend((method, route.path, route) for method in sorted(route.methods or ()))
    return out


def _declared_rule(route: APIRoute) -> str | None:
    stack, rules = [route.dependant], []
    while stack:
        dep = stack.pop()
        rule = getattr(dep.call, "rule", None)
        if rule:
            rules.append(rule)
        stack.extend(dep.dependencies)
    return rules[0] if len(rules) == 1 else None


def test_every_route_has_a_rule_in_the_table() -> None:
    missing = [f"{m} {p}" for m, p, _ in _routes() if (m, p) not in RULES]
    assert not missing, f"routes without a rule in RULES: {missing}"
    stale = set(RULES) - {(m, p) for m, p, _ in _routes()}
    assert not stale, f"rules for routes that do not exist: {stale}"


def test_every_route_declares_the_role_the_table_says() -> None:
    wrong = {f"{m} {p}": _declared_rule(r) for m, p, r in _routes() if _declared_rule(r) != RULES[(m, p)]}
    assert not wrong, f"routes whose require() differs from RULES (or has none or several): {wrong}"


def _request(web: Web, role: str | None, method: str, path: str) -> Any:
    url = re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], path)
    if path.startswith("/api/"):
        client = web.client()
        headers = {"Authorization": f"Bearer {web.tokens[role]}"} if role else {}
        body = JSON_BODIES.get(path.rstrip("/").rsplit("/", 1)[-1], {}) if method == "POST" else None
        return client.request(method, url, headers=headers, json=body)
    client = web.client(role)
    data = {"csrf": csrf_of(client, "/login")} if method == "POST" else None
    return client.request(method, url, data=data)


@pytest.mark.parametrize("role", [None, *ROLES], ids=["anonymous", *ROLES])
def test_each_role_reaches_exactly_the_routes_its_rule_allows(web: Web, role: str | None) -> None:
    from tests.conftest import beat

    beat(web.core)  # /healthz answers 200 only with a live worker
    web.tokens = {r: token_for(web.core, r, f"t-{r}") for r in ROLES}
    problems = []
    for method, path, _ in _routes():
        rule = RULES[(method, path)]
        allowed = rule == "public" or (role is not None and ROLES.index(role) >= ROLES.index(rule))
        response = _request(web, role, method, path)
        denied = response.status_code in (401, 403) or (
            response.status_code == 303 and response.headers["location"].startswith("/login?"))
        json = path.startswith("/api/") or path == "/openapi.json"
        if json and role is None:
            denied = denied and response.status_code == 401
        if not json and role is None and rule != "public":
            denied = denied and response.status_code == 303  # pages send anonymous visitors to /login
        if response.status_code >= 500 or allowed == denied:
            problems.append(f"{role} {method} {path}: {response.status_code}")
    assert not problems, problems
