"""Each staff role through its day, in Chromium (issue 21): what needs a person is on the dashboard with the
action that settles it; an admin resets a password; an organiser reads why their post was rejected; the close
preview fits a phone. Screenshots go to tests/artefacts/ (look at them after a change to a page)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from bot.actions.base import Approvals
from bot.clock import FakeClock
from bot.networks.base import PermanentError
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import beat, campaign_toml, deliveries
from tests.test_web_browser import ARTEFACTS, browser_page, server, shot, sign_in, sign_out  # noqa: F401 - fixtures
from tests.web_fixtures import Web, web  # noqa: F401 - the fixture

__all__ = ["browser_page", "server", "web"]

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}


def fits(page: Any) -> bool:
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))


def no_raw_times(page: Any) -> None:
    """No ISO time (2026-11-30T13:00) and no microseconds anywhere a person reads."""
    text = page.locator("main").inner_text()
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), text
    assert not re.search(r"\d\d:\d\d:\d\d\.\d+", text), text


def a_bad_day(web: Web, clock: FakeClock) -> tuple[int, int]:
    """A post that failed and posts that were missed (the worker was down past their grace), as the dispatcher
    leaves them. Returns (the failed post's id, the first missed post's id)."""
    core = web.core
    plan(core)
    lifecycle.queue(core, "test", core.clock.now(), "Free them now {{ link }}", "staff", account="a1",
                    language="en")
    core.network("a1").fail_next(PermanentError("422 Validation failed: the account is suspended"))  # type: ignore[attr-defined]
    Dispatcher(core).run_once()
    [failed] = [d for d in deliveries(core, kind="queued") if d.status == "failed"]
    clock.advance(timedelta(hours=8))  # down from 08:00 to 16:00 in Lima: the 09:00 posts are missed
    Dispatcher(core).run_once()
    missed = deliveries(core, status="missed")
    assert missed
    return failed.id, missed[0].id


def test_staff_find_and_settle_a_missed_post_a_failed_one_and_an_invalid_file_from_the_dashboard(
        web: Web, browser_page: Any, campaigns_dir: Any, clock: FakeClock) -> None:
    page = browser_page
    failed, missed = a_bad_day(web, clock)
    (campaigns_dir / "test.toml").write_text(campaign_toml(extra="colour = 'red'"), encoding="utf-8")
    plan(web.core)  # the worker finds the edited file invalid: the last good version runs on
    sign_in(page, "staff")
    attention = page.locator("#attention")
    assert attention.get_by_text("worker stopped").is_visible()  # no heartbeat yet
    beat(web.core)
    page.reload()
    assert attention.get_by_text("worker stopped").count() == 0
    assert page.locator("#console-mode").is_visible()  # the test accounts print: the page says so
    problem = page.locator("#file-test")
    assert problem.get_by_text("unknown field 'colour'").is_visible()
    assert problem.get_by_text("Your change is ignored").is_visible()
    no_raw_times(page)
    shot(page, "staff-dashboard-needs-a-person")

    card = page.locator(f"#d{failed}")
    assert card.get_by_text("the account is suspended").is_visible()
    card.get_by_label("Try again now").check()
    card.get_by_role("button", name=f"Settle post {failed}").click()
    page.locator("#attention .banner.here").filter(has_text=f"delivery {failed} queued again").wait_for()
    assert page.locator(f"#d{failed}").count() == 0
    assert [d.status for d in deliveries(web.core, id=failed)] == ["planned"]

    card = page.locator(f"#d{missed}")
    assert card.get_by_text("missed").first.is_visible()
    card.get_by_label("Send it now").check()
    card.get_by_role("button", name=f"Settle post {missed}").click()
    page.locator("#attention .banner.here").filter(has_text=f"delivery {missed} queued again").wait_for()
    [again] = deliveries(web.core, id=missed)
    assert again.status == "planned" and again.due_at == web.core.clock.now()

    (campaigns_dir / "test.toml").write_text(campaign_toml(), encoding="utf-8")
    plan(web.core)
    page.reload()
    assert page.locator("#file-test").count() == 0
    page.set_viewport_size(PHONE)
    assert fits(page)
    shot(page, "staff-dashboard-phone")


def test_an_admin_resets_a_persons_password_with_a_link(web: Web, browser_page: Any) -> None:
    page = browser_page
    sign_in(page, "admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    page.get_by_role("button", name="A link for organiser to choose a new password").click()
    link = page.get_by_role("textbox", name="Link for organiser").input_value()
    shot(page, "admin-password-link")
    sign_out(page)
    page.goto(link)
    page.get_by_label("New password").fill("a brand new password")
    page.get_by_label("The same again").fill("a brand new password")
    page.get_by_role("button", name="Save password and sign in").click()
    page.wait_for_url("**/")
    assert page.get_by_role("button", name="Sign out organiser").is_visible()


def test_an_organiser_reads_why_staff_rejected_their_post(web: Web, browser_page: Any) -> None:
    page = browser_page
    web.app.state.approvals = Approvals(posts=True)
    beat(web.core)
    sign_in(page, "organiser")
    page.goto("/campaigns/test")
    page.get_by_label("Text").fill("The minister promised a decision on Friday")
    page.get_by_label("When").fill("2026-12-01 10:30")
    page.get_by_role("button", name="Queue post").click()
    row = page.locator("table.timeline tr", has_text="The minister promised").first
    row.get_by_text("awaiting approval").wait_for()
    assert row.locator(".banner.here").filter(has_text="wait for approval").is_visible()  # beside the row
    assert "Tue 1 Dec, 10:30 GMT-5" in row.inner_text() or "Tue 1 Dec, 10:30 UTC-05" in row.inner_text()
    sign_out(page)

    sign_in(page, "staff")
    card = page.locator("#approvals article", has_text="The minister promised")
    assert card.get_by_text("a1, a2").is_visible() or card.get_by_text("a1").is_visible()  # the accounts
    assert card.get_by_text("Tue 1 Dec, 10:30").is_visible()  # and when it is due
    shot(page, "staff-approval-card")
    page.goto("/campaigns/test")
    row = page.locator("table.timeline tr", has_text="The minister promised").first
    row.get_by_text("Reject…").click()
    row.get_by_label("Why?").fill("no decision was promised: check the statement")
    shot(page, "staff-row-reject")
    row.get_by_role("button", name="Reject request").click()
    page.locator(".banner.here").filter(has_text="rejected the post queued by organiser").wait_for()
    sign_out(page)

    sign_in(page, "organiser")
    page.goto("/campaigns/test")
    rejected = page.locator("#rejected")
    assert rejected.get_by_text("no decision was promised: check the statement").is_visible()
    assert page.locator("table.timeline tr", has_text="The minister promised").first.get_by_text(
        "no decision was promised").is_visible()
    no_raw_times(page)
    shot(page, "organiser-rejected-reason")


def test_an_organiser_edits_the_time_and_text_of_a_queued_post_with_the_live_counter(
        web: Web, browser_page: Any) -> None:
    page = browser_page
    sign_in(page, "organiser")
    page.goto("/campaigns/test")
    page.get_by_label("Text").fill("Write to the ministry {{ link }}")
    page.get_by_label("Language").select_option("en")
    page.get_by_label("Account").select_option("a1")
    page.get_by_label("When").fill("2026-12-02 09:00")
    page.get_by_role("button", name="Queue post").click()
    [post] = deliveries(web.core, kind="queued")
    page.get_by_role("button", name=f"Edit post {post.id}").or_(
        page.get_by_role("link", name=f"Edit post {post.id}")).click()
    page.get_by_label("Text").fill("Write to the ministry today {{ link }}")
    page.locator(".counter").get_by_text("a1 (console): ").wait_for()
    page.get_by_label("When").fill("2026-12-03 18:15")
    shot(page, "organiser-edit")
    page.get_by_role("button", name="Save").click()
    page.locator(f"#d{post.id} .banner.here").wait_for()
    [edited] = deliveries(web.core, kind="queued")
    assert edited.text.startswith("Write to the ministry today") and edited.due_at.isoformat().startswith(
        "2026-12-03T23:15")
    row = page.locator(f"#d{post.id}")
    cancel = row.get_by_text("Cancel…")
    cancel.click()
    row.get_by_role("button", name=f"Yes, cancel post {post.id}").click()
    page.locator(f"#d{post.id} .banner.here").filter(has_text="cancelled").wait_for()


def test_the_close_preview_and_the_campaign_page_fit_a_phone(web: Web, browser_page: Any) -> None:
    page = browser_page
    plan(web.core)
    beat(web.core)
    sign_in(page, "staff")
    page.set_viewport_size(PHONE)
    page.goto("/campaigns/test/close?outcome=success")
    page.get_by_text("Many thanks to all who sent appeals.").first.wait_for()
    assert fits(page)
    message = page.locator("td[data-label='Message']").first.bounding_box()
    assert message is not None and message["width"] > 250  # a readable line, not eight characters
    shot(page, "close-preview-phone")
    page.goto("/campaigns/test")
    assert fits(page)
    no_raw_times(page)
    height = page.evaluate("document.scrollingElement.scrollHeight")
    shot(page, "campaign-phone-paged")
    page.locator("#timeline").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTEFACTS / "campaign-phone-timeline.png"))  # one screen, to read
    assert height < 14000, height
    page.set_viewport_size(DESKTOP)
    shot(page, "campaign-desktop")
    assert page.locator("#deadline").count() == 0 or page.locator("#deadline").is_visible()
    page.goto("/audit")
    no_raw_times(page)
    shot(page, "audit")


def test_staff_cancel_a_post_in_doubt_and_see_it_being_checked_not_asked_of_them(
        web: Web, browser_page: Any, clock: FakeClock) -> None:
    """A post whose answer was lost (it may be out): staff cancel it from its row; the page says it will not be
    sent again and is being checked; the dashboard does not ask them to settle it while a worker reads the
    account (which cannot be read yet here)."""
    from bot.networks.base import OutcomeUnknown, TransientError

    core = web.core
    plan(core)
    beat(core)
    net = core.network("a1")
    lifecycle.queue(core, "test", core.clock.now(), "Free them now {{ link }}", "staff", account="a1", language="en")

    def lost(post: Any) -> None:  # it reaches the account; the answer does not come back
        net.on_publish = None  # type: ignore[attr-defined]
        net.deliver_silently(post)  # type: ignore[attr-defined]

    net.on_publish = lost  # type: ignore[attr-defined]
    net.fail_next(OutcomeUnknown("read timeout"))  # type: ignore[attr-defined]

    def unreadable(post: Any) -> None:
        raise TransientError("503 Service Unavailable")

    net.find_published = unreadable  # type: ignore[method-assign]
    Dispatcher(core).run_once()
    [queued] = deliveries(core, kind="queued")
    assert (queued.status, queued.error_kind) == ("planned", "in_doubt")
    sign_in(page := browser_page, "staff")
    page.goto(f"/campaigns/test?focus={queued.id}#d{queued.id}")
    row = page.locator(f"#d{queued.id}")
    row.get_by_role("button", name=f"Cancel post {queued.id}…").click()
    row.get_by_role("button", name=f"Yes, cancel post {queued.id}").click()
    page.locator(f"#d{queued.id} .banner.here").filter(has_text="it will not be sent again").wait_for()
    Dispatcher(core).run_once()  # the worker tries to read the account: not yet
    page.reload()
    row = page.locator(f"#d{queued.id}")
    assert row.locator(".badge.being_checked").inner_text().strip() == "being checked"
    assert row.get_by_text("staff asked to cancel it").is_visible()
    shot(page, "campaign-post-being-checked")
    page.goto("/")
    assert page.locator(f"#attention #d{queued.id}").count() == 0
    assert [d.status for d in deliveries(core, id=queued.id)] == ["unknown"]
