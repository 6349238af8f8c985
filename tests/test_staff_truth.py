"""Staff see the truth at a glance (issue 21): what needs a person (missed, failed, unknown, invalid files,
a stopped worker), console mode, held posts, the deadline, and one way of showing a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.actions import emergency, posts
from bot.clock import FakeClock
from bot.queries import attention, reports
from bot.states import Status
from bot.web.times import local_text, relative_text
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import beat, campaign_toml, deliveries, write_campaign
from tests.web_fixtures import Web, csrf_of, token_for, web  # noqa: F401 - the fixture

__all__ = ["web"]
STAFF = lifecycle.person("staff")


def test_a_campaign_file_broken_by_an_edit_is_recorded_for_the_web_app_and_forgotten_once_fixed(
        make_app, campaigns_dir: Path) -> None:
    write_campaign(campaigns_dir)
    app = make_app()
    plan(app)
    assert attention.file_problems(app) == []
    (campaigns_dir / "test.toml").write_text(campaign_toml(extra="colour = 'red'"), encoding="utf-8")
    plan(app)
    [problem] = attention.file_problems(app)
    assert problem["campaign"] == "test" and problem["running_last_good"]
    assert any("unknown field 'colour'" in line for line in problem["problems"])
    assert problem["path"].endswith("test.toml")
    (campaigns_dir / "test.toml").write_text(campaign_toml(), encoding="utf-8")
    plan(app)
    assert attention.file_problems(app) == []


def test_a_file_that_is_not_toml_says_on_which_line(make_app, campaigns_dir: Path) -> None:
    write_campaign(campaigns_dir)
    (campaigns_dir / "new.toml").write_text('title = "x"\nthis is not toml\n', encoding="utf-8")
    app = make_app()
    plan(app)
    [problem] = attention.file_problems(app)
    assert problem["campaign"] == "new" and not problem["running_last_good"]
    assert problem["problems"][0].startswith("line 2: not valid TOML")


def test_a_missed_post_is_listed_and_sent_now_when_a_person_says_so(make_app, campaigns_dir: Path,
                                                                      clock: FakeClock) -> None:
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=1)
    plan(app)
    clock.advance(timedelta(hours=8, minutes=30))  # down through the 09:00 posts and past their grace
    Dispatcher(app).run_once()
    missed = [d for d in attention.unsettled_posts(app) if d["status"] == Status.MISSED]
    assert missed and all(d["timezone"] == "America/Lima" for d in missed)
    posts.resolve(app, STAFF, missed[0]["id"], resend=True)
    [again] = deliveries(app, id=missed[0]["id"])
    assert again.status == Status.PLANNED and again.due_at == clock.now()
    assert missed[0]["id"] not in {d["id"] for d in attention.unsettled_posts(app)}
    posts.resolve(app, STAFF, missed[1]["id"])  # neither: it is too late
    assert deliveries(app, id=missed[1]["id"])[0].status == Status.CANCELLED


def test_times_show_the_campaigns_zone_with_its_abbreviation_and_relative_words() -> None:
    when = datetime(2026, 12, 7, 14, 7, 30, 123456, tzinfo=UTC)
    now = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    assert local_text(when, "Europe/Paris", now=now) == "Mon 7 Dec, 15:07 CET"
    assert local_text(when, "America/Lima", now=now) == "Mon 7 Dec, 09:07 UTC-05"
    assert local_text(when, "America/New_York", now=now) == "Mon 7 Dec, 09:07 EST"
    assert local_text(when, None, now=now - timedelta(days=400)) == "Mon 7 Dec 2026, 14:07 UTC"
    assert relative_text(when, now) == "in 3 hours"
    assert relative_text(now - timedelta(days=2), now) == "2 days ago"
    assert relative_text(now, now) == "now"


def test_the_dashboard_says_the_worker_stopped_and_that_posts_are_only_printed(web: Web) -> None:
    page = web.client("staff").get("/").text
    assert "worker stopped" in page and "Nothing: every post went out" not in page
    assert 'id="console-mode"' in page and "a1, a2" in page  # the test accounts print
    beat(web.core)
    assert "worker stopped" not in web.client("staff").get("/").text


def test_planned_posts_read_held_during_the_emergency_stop_and_the_deadline_counts_down(
        web: Web, campaigns_dir: Path) -> None:
    write_campaign(campaigns_dir, extra="act_by = 2026-12-02")
    plan(web.core)
    client = web.client("staff")
    page = client.get("/campaigns/test").text
    assert 'id="deadline"' in page and "the end of Wed 2 Dec" in page and "Thu 3 Dec, 00:00 UTC-05" in page
    assert '<span class="badge planned">planned</span>' in page
    emergency.stop_everything(web.core, STAFF, "checking the figures")
    page = client.get("/campaigns/test").text
    assert '<span class="badge held">held</span>' in page and '<span class="badge planned">' not in page
    assert not any(t in page for t in (".123", "+00:00"))


def test_the_api_lists_what_needs_a_person_and_settles_it_as_the_dashboard_does(
        web: Web, campaigns_dir: Path, clock: FakeClock) -> None:
    from fastapi.testclient import TestClient

    plan(web.core)
    clock.advance(timedelta(hours=8, minutes=30))
    Dispatcher(web.core).run_once()
    api = TestClient(web.app, headers={"Authorization": f"Bearer {token_for(web.core, 'staff')}"})
    body = api.get("/api/attention").json()
    assert body["worker"]["alive"] is False and body["console"]["accounts"] == ["a1", "a2"]
    first = body["posts"][0]
    assert first["status"] == "missed"
    refused = api.post(f"/api/deliveries/{first['id']}/resolve", json={"action": "sent", "url": "nope"})
    assert refused.status_code == 400 and refused.json()["pointer"] == "/url"
    done = api.post(f"/api/deliveries/{first['id']}/resolve", json={"action": "resend"}).json()
    assert done["changed"] and done["code"] == "resolved"
    paged = api.get("/api/campaigns/test", params={"status": "planned", "page": 1, "size": 5}).json()
    assert len(paged["timeline"]) == 5 and paged["page"] == 1 and paged["pages"] >= 2
    assert all(d["status"] == "planned" for d in paged["timeline"])


def test_a_rejection_keeps_its_reason_for_the_organiser_on_the_campaign_page(web: Web) -> None:
    from bot.actions.base import Approvals

    web.app.state.approvals = Approvals(posts=True)
    organiser = web.client("organiser")
    token = csrf_of(organiser, "/campaigns/test")
    organiser.post("/campaigns/test/queue", data={"csrf": token, "text": "A figure to check", "at": "2026-12-01 09:00",
                                                  "language": "en", "account": ""})
    staff = web.client("staff")
    [approval_id] = {d.approval_id for d in deliveries(web.core, kind="queued")}
    staff.post(f"/approvals/{approval_id}/reject", data={"csrf": csrf_of(staff, "/"), "reason": "the figure is old",
                                                       "back": "/campaigns/test#approvals"})
    page = organiser.get("/campaigns/test").text
    assert 'id="rejected"' in page and "the figure is old" in page
    assert '<span class="badge rejected">rejected</span>' in page


def test_status_on_the_cli_and_the_api_names_an_invalid_campaign_file(make_app, campaigns_dir: Path) -> None:
    from click.testing import CliRunner

    from bot.cli import cli

    write_campaign(campaigns_dir)
    app = make_app()
    plan(app)
    (campaigns_dir / "test.toml").write_text(campaign_toml(extra="colour = 'red'"), encoding="utf-8")
    plan(app)
    out = CliRunner().invoke(cli, ["status"], catch_exceptions=False).stdout
    assert "INVALID FILE" in out and "test.toml (the last good version runs on)" in out and "colour" in out
    assert reports.status(app)["invalid_files"][0]["campaign"] == "test"


def test_an_accounts_budget_reads_as_posts_used_of_its_window(make_app, campaigns_dir, monkeypatch, clock):
    from bot.queries.pages import accounts
    from tests.fake_networks import FakeMastodon
    from tests.test_seams import mastodon_org

    server = FakeMastodon(clock=clock.now).start()
    try:
        app = mastodon_org(make_app, campaigns_dir, monkeypatch, server)
        [org] = accounts(app)
    finally:
        server.stop()
    assert org["word"] == "ok" and org["reason"] is None
    assert org["budget"] == {"used": 0, "posts": 300, "hours": "3"}  # Mastodon's 300 posts per 3 hours


def test_a_post_a_worker_is_reading_back_is_shown_as_being_checked_and_asks_nobody_until_that_fails(
        make_app, campaigns_dir: Path, clock: FakeClock) -> None:
    """A send whose worker died is read back from the account (so are posts in doubt at a close, a pause, the
    emergency stop or a person's cancel). While a worker does that, the dashboard listed it under "Needs a
    person" and an alert said "nobody knows whether it went out: check the account and settle it": a person
    could send it again by hand while the worker was about to find it. It is a person's once the account could
    not be read for a day (then listed and alerted), and until then its row says "being checked"."""
    from bot.alerts.detect import detect
    from bot.networks.base import TransientError
    from bot.queries import pages
    from tests.fakes import FakeNetwork
    from tests.test_dispatch import bootstrap_like

    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]', ask='ask = "Act"')
    net = FakeNetwork("a1")

    def unreadable(post: object) -> None:
        raise TransientError("503 Service Unavailable")

    net.find_published = unreadable  # type: ignore[assignment,method-assign]
    app = make_app(networks={"a1": net}, accounts=("a1",), horizon_days=1, lease_seconds=300)
    plan(app)
    clock.advance(timedelta(hours=1))
    beat(app)
    claimed = Dispatcher(app).claim_next("a1")  # its worker dies before any answer
    assert claimed is not None
    clock.advance(timedelta(seconds=11))
    Dispatcher(bootstrap_like(app)).run_once()  # taken over: read back; the account cannot be read yet

    def asked() -> tuple[bool, bool, str]:
        listed = claimed.id in {d["id"] for d in attention.unsettled_posts(app)}
        with app.engine.connect() as conn:
            found = detect(conn, clock.now(), app.config.alerts_settings)
        alerted = f"delivery:{claimed.id}" in {a.subject for a in found}
        view = pages.campaign(app, "test", pages.TimelineFilter(status="unknown"))
        assert view is not None
        return listed, alerted, next(d["shown_status"] for d in view["timeline"] if d["id"] == claimed.id)

    assert deliveries(app, id=claimed.id)[0].status == Status.UNKNOWN
    assert asked() == (False, False, "being_checked")
    clock.advance(timedelta(days=1, minutes=5))
    Dispatcher(bootstrap_like(app)).run_once()  # a day without an answer: a person's now
    assert asked() == (True, True, "unknown")


def _asked_about(app: Any, clock: FakeClock, delivery_id: int) -> tuple[bool, bool, bool, str]:
    """Whether the dashboard, `status` and the alerts ask a person about the post, and what its row reads."""
    from bot.alerts.detect import detect
    from bot.queries import pages

    listed = delivery_id in {d["id"] for d in attention.unsettled_posts(app)}
    in_status = delivery_id in {d["id"] for d in reports.status(app)["needs_attention"]}
    with app.engine.connect() as conn:
        found = detect(conn, clock.now(), app.config.alerts_settings)
    alerted = f"delivery:{delivery_id}" in {a.subject for a in found}
    view = pages.campaign(app, "test", pages.TimelineFilter(status="unknown"))
    assert view is not None
    return listed, in_status, alerted, next(d["shown_status"] for d in view["timeline"] if d["id"] == delivery_id)


def test_a_post_in_doubt_on_a_disabled_account_is_a_persons_at_once_when_flagged_and_status_agrees(
        make_app, campaigns_dir: Path, clock: FakeClock) -> None:
    """Found by a review: a disabled account is not run, so its posts are not read back; one flagged for a
    read-back (here by a person's cancel) was left out of "Needs a person", the alerts said nothing, and its row
    read "being checked" for ever: a post that may be public, and nobody told. And `status` still listed the
    posts a worker was reading back, which the dashboard did not."""
    from bot.networks.base import AuthRevoked, OutcomeUnknown
    from bot.states import ErrorKind, Kind
    from tests.test_close_in_flight import one_account

    app, net = one_account(make_app, campaigns_dir)
    lifecycle.queue(app, "test", clock.now(), "Free them now", "ana")
    net.fail_next(OutcomeUnknown("read timeout"), AuthRevoked("401 The access token was revoked"))
    Dispatcher(app).run_once()
    [queued] = deliveries(app, kind=Kind.QUEUED)
    for _ in range(10):  # its retry is refused: the account is disabled, the post still in doubt
        clock.advance(timedelta(minutes=5))
        Dispatcher(app).run_once()
    [row] = deliveries(app, id=queued.id)
    assert (row.status, row.error_kind) == (Status.PLANNED, ErrorKind.IN_DOUBT)
    assert lifecycle.cancel_delivery(app, queued.id, by="ana").code == "cancel_read_back"
    assert _asked_about(app, clock, queued.id) == (True, True, True, "unknown")
    for _ in range(3):  # a worker runs on: the account is not read while it is disabled
        clock.advance(timedelta(hours=1))
        Dispatcher(app).run_once()
    assert deliveries(app, id=queued.id)[0].status == Status.UNKNOWN
    assert _asked_about(app, clock, queued.id) == (True, True, True, "unknown")


def test_status_lists_what_the_dashboard_lists_as_needing_a_person(make_app, campaigns_dir: Path,
                                                                   clock: FakeClock) -> None:
    from bot.networks.base import OutcomeUnknown
    from bot.states import Kind
    from tests.test_close_in_flight import one_account

    app, net = one_account(make_app, campaigns_dir)
    lifecycle.queue(app, "test", clock.now(), "Free them now", "ana")
    net.fail_next(OutcomeUnknown("read timeout"))
    Dispatcher(app).run_once()
    [queued] = deliveries(app, kind=Kind.QUEUED)
    lifecycle.cancel_delivery(app, queued.id, by="ana")  # a worker reads it back: nobody's yet
    assert _asked_about(app, clock, queued.id) == (False, False, False, "being_checked")
