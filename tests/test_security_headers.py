"""What a hostile page can do with ours, and what an anonymous visitor can read: no page can be framed (the
emergency stop would be one click away), no script runs but ours, no answer is sniffed into another type, the
API's description and Swagger UI need a sign-in and load nothing from a CDN, and /metrics tells an anonymous
visitor no account's name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import beat
from tests.test_web_browser import browser_page, server, sign_in  # noqa: F401 - the fixtures
from tests.web_fixtures import Web, token_for, web  # noqa: F401 - the fixture

__all__ = ["browser_page", "server", "web"]
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE
@pytest.mark.parametrize("path", ["/", "/login", "/c/test", "/c/test/feed.atom", "/api/status", "/healthz",
                                  "/static/app.js", "/nowhere", "/campaigns/nosuch", "/metrics"])
def test_every_answer_forbids_framing_sniffing_and_scripts_from_elsewhere(web: Web, path: str) -> None:
    headers = {"Authorization": f"Bearer {token_for(web.core, 'staff')}"} if path.startswith("/api/") else {}
    answer = web.client("staff").get(path, headers=headers)
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy and "object-src 'none'" in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] in ("strict-origin-when-cross-origin", "no-referrer")


@SQLITE
def test_a_private_page_keeps_its_own_referrer_policy(web: Web) -> None:
    answer = web.client().get("/m/no-such-token")
    assert answer.headers["referrer-policy"] == "no-referrer" or answer.status_code == 404


@SQLITE
def test_the_api_description_and_swagger_ui_need_a_sign_in_and_come_from_this_site(web: Web) -> None:
    anonymous = web.client()
    assert anonymous.get("/openapi.json").status_code == 401
    assert anonymous.get("/docs").headers["location"].startswith("/login")
    token = {"Authorization": f"Bearer {token_for(web.core, 'organiser')}"}
    assert anonymous.get("/openapi.json", headers=token).json()["info"]["title"] == "campaign-bot"
    page = web.client("organiser").get("/docs").text
    assert "cdn" not in page.lower() and "https://" not in page and "<script>" not in page
    for asset in ("/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css", "/static/docs-init.js"):
        assert anonymous.get(asset).status_code == 200


@SQLITE
def test_an_anonymous_visitor_reads_totals_from_metrics_but_no_account(web: Web) -> None:
    anonymous = web.client().get("/metrics").text
    assert "campaign_bot_deliveries" in anonymous and "campaign_bot_worker_heartbeat_age_seconds" in anonymous
    assert 'account="' not in anonymous and "campaign_bot_failures" not in anonymous
    token = {"Authorization": f"Bearer {token_for(web.core, 'organiser')}"}
    detailed = web.client().get("/metrics", headers=token).text
    assert "campaign_bot_failures" in detailed and "campaign_bot_rate_limit_deferrals" in detailed


@SQLITE
def test_the_pages_and_swagger_ui_run_under_the_policy_without_a_violation(web: Web, browser_page: Any) -> None:
    page = browser_page
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    beat(web.core)
    sign_in(page, "staff")
    for path in ("/", "/campaigns/test", "/nowhere", "/c/test"):
        page.goto(path)
    page.goto("/docs")
    page.get_by_text("/api/status").first.wait_for()  # Swagger UI rendered the operations
    assert refused == []
