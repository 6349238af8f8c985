"""Browser tests: Playwright drives Debian's Chromium against the web app served on 127.0.0.1.

Screenshots of each page go to tests/artefacts/ (not committed): look at them after a change to a page.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.actions import people
from bot.actions.base import Approvals
from bot.worker.plan import plan
from tests.conftest import beat, deliveries
from tests.web_fixtures import ADMIN, PASSWORD, Web, web  # noqa: F401 - the fixture

__all__ = ["web"]

ARTEFACTS = Path(__file__).parent / "artefacts"
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
def server(web: Web) -> Iterator[str]:
    """The web app served by uvicorn in a thread, on a free port of 127.0.0.1."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    web.core.config.amplify.public_url = f"http://127.0.0.1:{port}"  # the address it is served at, as deployed
    srv = uvicorn.Server(uvicorn.Config(web.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):  # wait for the event "started", bounded (at most 20 s)
        if srv.started:
            break
        threading.Event().wait(0.1)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def browser_page(server: str, chromium: Any) -> Iterator[Any]:
    ARTEFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(base_url=server, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, name: str) -> None:
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def test_staff_sign_in_and_see_the_dashboard(web: Web, browser_page: Any) -> None:
    page = browser_page
    beat(web.core)
    page.goto("/")
    assert "/login" in page.url
    shot(page, "login")
    sign_in(page, "staff")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_role("link", name="Test campaign").is_visible()
    assert page.get_by_text("a worker is alive").is_visible()
    shot(page, "dashboard")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    shot(page, "dashboard-phone")
    # Every column of the campaigns table is on the screen: no sideways scrolling to find what failed.
    table = page.locator("#campaigns-h + div")
    assert table.evaluate("e => e.scrollWidth <= e.clientWidth")
    failed = page.locator("td[data-label='Failed / unknown']").first.bounding_box()
    assert failed is not None and failed["x"] + failed["width"] <= 390
    page.goto("/campaigns/test")
    shot(page, "campaign-phone")
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto("/accounts")
    shot(page, "accounts")
    page.goto("/audit")
    assert page.get_by_text("sign_in").first.is_visible()
    shot(page, "audit")


def test_a_person_changes_their_password_from_the_menu_and_signs_in_with_it(web: Web, browser_page: Any) -> None:
    page = browser_page
    sign_in(page, "organiser")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Your password").click()
    page.wait_for_url("**/password")
    page.get_by_label("Your current password").fill("correct horse battery")
    page.get_by_label("New password").fill("a new and longer password")
    page.get_by_label("The same again").fill("a new and longer password")
    shot(page, "password")
    page.get_by_role("button", name="Save password").click()
    page.get_by_text("Password changed.").wait_for()
    sign_out(page)
    page.get_by_label("Name").fill("organiser")
    page.get_by_label("Password").fill("a new and longer password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()


def test_an_organiser_queues_a_post_and_sees_it_in_the_timeline(web: Web, browser_page: Any) -> None:
    page = browser_page
    plan(web.core)
    sign_in(page, "organiser")
    page.get_by_role("link", name="Test campaign").click()
    page.get_by_label("Text").fill("Please write to the ministry today {{ link }}")
    page.get_by_label("Language").select_option("en")
    page.get_by_text("a1 (console): ").wait_for()  # the live counter, from the server
    shot(page, "campaign-queue-form")
    page.get_by_role("button", name="Queue post").click()
    page.get_by_text("queued 2 post(s)").wait_for()
    rows = page.locator("table.timeline tr", has_text="Please write to the ministry today https://example.org/ua")
    assert rows.count() == 2
    shot(page, "campaign-timeline")
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone each post is a card: nothing off screen
    assert page.locator("#timeline .overflow-auto").evaluate("e => e.scrollWidth <= e.clientWidth")
    cancel = page.get_by_role("button", name="Cancel post").first.bounding_box()
    assert cancel is not None and cancel["x"] + cancel["width"] <= 390
    shot(page, "campaign-timeline-phone")


def test_an_organisers_post_awaits_approval_and_staff_approve_it(web: Web, browser_page: Any) -> None:
    page = browser_page
    web.app.state.approvals = Approvals(posts=True)
    sign_in(page, "organiser")
    page.goto("/campaigns/test")
    page.get_by_label("Text").fill("A post for review")
    page.get_by_role("button", name="Queue post").click()
    page.get_by_text("wait for approval").wait_for()
    assert page.locator("table.timeline tr", has_text="A post for review").first.get_by_text(
        "awaiting approval").is_visible()
    shot(page, "campaign-awaiting-approval")
    sign_out(page)
    sign_in(page, "staff")
    assert page.get_by_text("A post for review").is_visible()
    shot(page, "dashboard-approval")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("approved the post queued by organiser").wait_for()
    assert {d.status for d in deliveries(web.core, kind="queued")} == {"planned"}


def test_staff_close_a_campaign_through_the_confirmation_page(web: Web, browser_page: Any) -> None:
    page = browser_page
    plan(web.core)
    pending = [d for d in deliveries(web.core, kind="call_to_action") if d.status == "planned"]
    assert pending
    sign_in(page, "staff")
    page.goto("/campaigns/test")
    page.get_by_label("Outcome").select_option("success")
    page.get_by_role("button", name="Close…").click()
    page.get_by_role("heading", name="Close “Test campaign”?").wait_for()
    assert page.get_by_text("Many thanks to all who sent appeals.").first.is_visible()
    assert page.get_by_text(f"{len(pending)} pending post(s) will be cancelled").is_visible()
    shot(page, "close-confirmation")
    page.get_by_label("Note for the audit log").fill("status granted")
    page.get_by_role("button", name="Close the case and post these messages").click()
    page.get_by_text("closed test (success)").wait_for()
    shot(page, "campaign-closed")
    closing = deliveries(web.core, kind="closing")
    assert len(closing) == 4 and {d.status for d in closing} == {"planned"}
    assert {d.status for d in deliveries(web.core, kind="call_to_action")} == {"cancelled"}


def test_staff_use_the_emergency_stop(web: Web, browser_page: Any) -> None:
    page = browser_page
    sign_in(page, "staff")
    page.get_by_text("Stop everything…").click()  # a confirmation step: one click stops nothing
    page.get_by_label("Why?").fill("the case changed overnight")
    page.get_by_role("button", name="Yes, stop every post now").click()
    page.get_by_role("alert").filter(has_text="the case changed overnight").wait_for()
    assert page.get_by_text("Emergency stop: nothing is posted.").count() == 1
    shot(page, "emergency-stop")
    page.get_by_role("button", name="Lift the emergency stop").click()
    page.get_by_text("resumed: dispatch runs again").wait_for()


def test_a_removed_user_is_signed_out_at_once(web: Web, browser_page: Any) -> None:
    page = browser_page
    sign_in(page, "organiser")
    people.remove_user(web.core, ADMIN, "organiser")
    page.goto("/")
    assert "/login" in page.url


