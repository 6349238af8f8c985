"""Reach in the web app: the campaign page's section with its server-side SVG chart, the dashboard's line."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from bot.networks.reading import Mention
from bot.reach import responses
from bot.reach.chart import engagement_svg
from bot.reach.tables import SNAPSHOTS
from bot.worker.dispatch import Dispatcher
from tests import staff as lifecycle
from tests.conftest import deliveries
from tests.test_web_browser import browser_page, server, shot, sign_in  # noqa: F401 - fixtures
from tests.web_fixtures import Web, web  # noqa: F401 - the fixture

__all__ = ["browser_page", "server", "web"]
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def with_reach(web: Web) -> None:
    """Two posts sent, read four times as their counts grew, and one answer from the target."""
    core = web.core
    lifecycle.queue(core, "test", core.clock.now(), "Free them now {{ link }}", "tester")
    Dispatcher(core).run_once()
    sent = deliveries(core, status="sent")
    rows = []
    for step, (minutes, grow) in enumerate([(10, 1), (60, 3), (360, 8), (1440, 12)]):
        for n, d in enumerate(sent):
            rows.append({"delivery_id": d.id, "collected_at": core.clock.now() + timedelta(minutes=minutes),
                         "reposts": grow * (n + 1), "likes": grow * 3 + n, "replies": step + n, "quotes": step // 2})
    with core.engine.begin() as conn:
        conn.execute(insert(SNAPSHOTS), rows)
        responses.record(conn, sent[0].account_id, "x", [Mention(
            remote_id="1860000000000000001", kind="reply", author="@CancilleriaPeru",
            text="The Ministry has received your appeals and is reviewing the case.",
            url="https://x.com/i/status/1860000000000000001", subject=sent[0].remote_id)], core.clock.now())


def test_the_chart_is_an_accessible_svg_with_one_line_per_series():
    svg = engagement_svg([{"at": "2026-11-30T13:10:00+00:00", "boosts": 1, "likes": 3, "replies": 0, "quotes": 0},
                          {"at": "2026-12-01T13:00:00+00:00", "boosts": 24, "likes": 37, "replies": 4, "quotes": 1}])
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg and "<script" not in svg
    assert svg.count("<polyline") == 4 and "37 likes" in svg
    assert engagement_svg([]) == ""


@SQLITE
def test_the_campaign_page_shows_reach_and_the_dashboard_one_line(web: Web) -> None:
    with_reach(web)
    client = web.client("staff")
    page = client.get("/campaigns/test").text
    assert 'id="reach"' in page and "<svg" in page and "The target answered" in page
    assert "reviewing the case" in page and "@CancilleriaPeru" in page
    dashboard = client.get("/").text
    assert "the target answered 1×" in dashboard and "supporters' boosts" in dashboard


@SQLITE
@pytest.mark.browser
def test_the_campaign_page_draws_the_engagement_chart(web: Web, browser_page: Any) -> None:
    with_reach(web)
    page = browser_page
    sign_in(page, "staff")
    page.goto("/campaigns/test#reach")
    chart = page.locator("#reach-chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    assert page.locator("#reach-chart polyline").count() == 4
    assert page.get_by_role("heading", name="The target answered").is_visible()
    chart.screenshot(path=str(shot.__globals__["ARTEFACTS"] / "reach-chart.png"))
    shot(page, "campaign-reach")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: each network is a card, nothing off screen
    assert page.locator("table.reach").evaluate("e => e.parentElement.scrollWidth <= e.parentElement.clientWidth")
    responses = page.locator("table.reach tfoot td[data-label=\"Target's responses\"]").bounding_box()
    assert responses is not None and responses["x"] + responses["width"] <= 390
    shot(page, "campaign-reach-phone")
