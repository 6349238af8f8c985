"""The web app's pages, driven through the framework's test client."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FakeClock
from bot.store.models import AuditRow, ControlRow, DeliveryRow
from tests.conftest import beat, deliveries
from tests.web_fixtures import Web, csrf_of, sign_in, web  # noqa: F401 - the fixture

__all__ = ["web"]


def test_an_anonymous_visitor_is_sent_to_the_login_page(web: Web) -> None:
    response = web.client().get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"


def test_staff_sign_in_and_see_the_campaign_on_the_dashboard(web: Web) -> None:
    client = web.client()
    response = sign_in(client, "staff")
    assert response.status_code == 303
    page = client.get("/")
    assert page.status_code == 200
    assert "Test campaign" in page.text and "Emergency stop" in page.text


def test_a_wrong_password_is_refused_with_a_message(web: Web) -> None:
    client = web.client()
    response = sign_in(client, "staff", "wrong password!")
    assert response.status_code == 400
    assert "Wrong name or password." in response.text
    assert client.get("/").status_code == 303


def test_login_attempts_are_limited_per_user(web: Web) -> None:
    client = web.client()
    for _ in range(5):
        sign_in(client, "staff", "wrong password!")
    response = sign_in(client, "staff")  # even the right password waits now
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text


def test_a_form_without_the_csrf_token_is_refused(web: Web) -> None:
    client = web.client("staff")
    response = client.post("/stop", data={"reason": "test"})
    assert response.status_code == 403
    with web.core.sessions() as s:
        row = s.get(ControlRow, 1)  # the stop's row is there from the start (migration 0021), never set
        assert row is not None and not row.paused_all and row.changed_by is None


def test_the_session_cookie_is_httponly_and_samesite_lax(web: Web) -> None:
    client = web.client()
    token = csrf_of(client)
    response = client.post("/login", data={"name": "staff", "password": "correct horse battery", "csrf": token})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_an_organiser_queues_a_post_and_sees_it_in_the_timeline(web: Web) -> None:
    client = web.client("organiser")
    token = csrf_of(client, "/campaigns/test")
    response = client.post("/campaigns/test/queue", data={"csrf": token, "text": "Write today {{ link }}",
                                                          "language": "en", "at": "", "account": ""})
    assert response.status_code == 303
    rows = deliveries(web.core, kind="queued")
    assert {r.account_id for r in rows} == {"a1", "a2"}
    assert rows[0].text == "Write today https://example.org/ua"
    page = client.get("/campaigns/test")
    assert "Write today https://example.org/ua" in page.text
    with web.core.sessions() as s:
        assert s.query(AuditRow).filter_by(action="queue").one().actor == "organiser"


def test_a_too_long_post_gets_a_message_next_to_the_text_field(web: Web) -> None:
    client = web.client("organiser")
    token = csrf_of(client, "/campaigns/test")
    response = client.post("/campaigns/test/queue", data={"csrf": token, "text": "x" * 600, "language": "en"})
    assert response.status_code == 400
    assert 'id="text-error"' in response.text and "over" in response.text
    assert deliveries(web.core, kind="queued") == []


def test_a_bad_time_gets_a_message_next_to_the_time_field(web: Web) -> None:
    client = web.client("organiser")
    token = csrf_of(client, "/campaigns/test")
    response = client.post("/campaigns/test/queue", data={"csrf": token, "text": "hello", "at": "tomorrow"})
    assert response.status_code == 400
    assert 'id="at-error"' in response.text


def test_campaign_text_with_a_script_tag_shows_as_text(web: Web) -> None:
    client = web.client("organiser")
    token = csrf_of(client, "/campaigns/test")
    client.post("/campaigns/test/queue", data={"csrf": token, "text": "<script>alert(1)</script>", "language": "en"})
    page = client.get("/campaigns/test").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_length_counter_counts_as_the_server_does(web: Web) -> None:
    client = web.client("organiser")
    response = client.get("/campaigns/test/measure", params={"text": "é" * 10, "language": "es"})
    assert response.status_code == 200
    counts = {a["account"]: (a["length"], a["ok"]) for a in response.json()["accounts"]}
    assert counts == {"a1": (10, True), "a2": (10, True)}


def test_closing_through_the_confirmation_page_queues_closing_messages_and_cancels_the_rest(web: Web) -> None:
    client = web.client("staff")
    page = client.get("/campaigns/test/close", params={"outcome": "success"})
    assert page.status_code == 200
    assert "Many thanks to all who sent appeals." in page.text
    assert deliveries(web.core, kind="closing") == []  # the preview writes nothing
    token = csrf_of(client, "/campaigns/test")
    response = client.post("/campaigns/test/close", data={"csrf": token, "outcome": "success", "note": "won"})
    assert response.status_code == 303
    closing = deliveries(web.core, kind="closing")
    assert len(closing) == 4 and all(d.status == "planned" for d in closing)
    with web.core.sessions() as s:
        assert s.query(AuditRow).filter_by(action="close").one().actor == "staff"


def test_the_emergency_stop_asks_for_a_reason_and_holds_everything(web: Web) -> None:
    client = web.client("staff")
    token = csrf_of(client, "/")
    client.post("/stop", data={"csrf": token, "reason": ""})
    with web.core.sessions() as s:
        row = s.get(ControlRow, 1)
        assert row is not None and not row.paused_all and row.changed_by is None
    client.post("/stop", data={"csrf": token, "reason": "check the facts"})
    with web.core.sessions() as s:
        row = s.get(ControlRow, 1)
        assert row is not None and row.paused_all and row.changed_by == "staff"
    assert "check the facts" in client.get("/").text


def test_an_organiser_cannot_close_a_campaign(web: Web) -> None:
    client = web.client("organiser")
    token = csrf_of(client, "/campaigns/test")
    response = client.post("/campaigns/test/close", data={"csrf": token, "outcome": "success"})
    assert response.status_code == 403
    assert deliveries(web.core, kind="closing") == []


def test_an_organiser_edits_and_cancels_a_queued_post(web: Web) -> None:
    client = web.client("organiser")
    token = csrf_of(client, "/campaigns/test")
    client.post("/campaigns/test/queue", data={"csrf": token, "text": "first", "language": "en", "account": "a1"})
    (row,) = deliveries(web.core, kind="queued")
    client.post(f"/deliveries/{row.id}/edit", data={"csrf": token, "text": "second"})
    client.post(f"/deliveries/{row.id}/cancel", data={"csrf": token})
    (row,) = deliveries(web.core, kind="queued")
    assert (row.text, row.status) == ("second", "cancelled")


def test_an_organiser_changes_only_the_posts_they_queued(web: Web) -> None:
    from tests import staff as lifecycle

    lifecycle.queue(web.core, "test", web.core.clock.now(), "someone else's", "ana", account="a1", language="en")
    (row,) = deliveries(web.core, kind="queued")
    assert row.queued_by == "ana"
    organiser = web.client("organiser")
    token = csrf_of(organiser, "/campaigns/test")
    assert organiser.post(f"/deliveries/{row.id}/edit", data={"csrf": token, "text": "mine now"}).status_code == 403
    assert organiser.post(f"/deliveries/{row.id}/cancel", data={"csrf": token}).status_code == 403
    (row,) = deliveries(web.core, kind="queued")
    assert (row.text, row.status) == ("someone else's", "planned")
    staff = web.client("staff")
    staff.post(f"/deliveries/{row.id}/cancel", data={"csrf": csrf_of(staff, "/campaigns/test")})
    assert [r.status for r in deliveries(web.core, kind="queued")] == ["cancelled"]


def test_healthz_says_503_without_a_worker_and_200_with_a_fresh_heartbeat(web: Web) -> None:
    client = web.client()
    response = client.get("/healthz")
    assert response.status_code == 503 and "no worker" in response.json()["worker"]
    beat(web.core)
    assert client.get("/healthz").status_code == 200
    clock = web.core.clock
    assert isinstance(clock, FakeClock)
    clock.advance(timedelta(minutes=5))
    stale = client.get("/healthz")
    assert stale.status_code == 503 and "300 s ago" in stale.json()["worker"]


def test_metrics_report_deliveries_by_status_and_the_heartbeat_age(web: Web) -> None:
    beat(web.core)
    with web.core.sessions.begin() as s:
        s.query(DeliveryRow).delete()
    text = web.client().get("/metrics").text
    assert "campaign_bot_worker_heartbeat_age_seconds 0.0" in text
    assert "campaign_bot_lateness_seconds_count 0.0" in text


def test_the_queue_form_offers_the_campaigns_languages_and_accounts_in_its_zone(web: Web) -> None:
    page = web.client("organiser").get("/campaigns/test").text
    assert '<option value="es"' in page and '<option value="en"' in page
    assert '<option value="a2"' in page and "America/Lima" in page


def test_the_timeline_is_paged_and_filtered_by_status_account_and_language(web: Web) -> None:
    from bot.queries.pages import PAGE_SIZE
    from bot.worker.plan import plan

    plan(web.core)
    client = web.client("organiser")
    page = client.get("/campaigns/test").text
    planned = [d for d in deliveries(web.core) if d.status == "planned"]
    assert len(planned) > PAGE_SIZE
    assert page.count('<span class="badge planned">') == PAGE_SIZE
    pages = -(-len(planned) // PAGE_SIZE)
    assert f"Page 1 of {pages} ({len(planned)} posts)" in page and 'rel="next"' in page
    last = client.get("/campaigns/test", params={"page": str(pages)}).text
    assert last.count('<span class="badge planned">') == len(planned) - PAGE_SIZE * (pages - 1)
    only_a1 = client.get("/campaigns/test", params={"account": "a1", "language": "es", "page": "1"}).text
    wanted = [d for d in planned if d.account_id == "a1" and d.language == "es"]
    assert only_a1.count('<span class="badge planned">') == min(len(wanted), PAGE_SIZE)
    assert client.get("/campaigns/test", params={"status": "sent"}).text.count('class="badge sent"') == 0
    focus = planned[-1].id  # a post far down the timeline: its page is shown
    assert f'id="d{focus}"' in client.get("/campaigns/test", params={"focus": str(focus)}).text


def test_an_admin_adds_a_person_and_a_short_password_is_explained_next_to_its_field(web: Web) -> None:
    client = web.client("admin")
    token = csrf_of(client, "/users")
    short = client.post("/users", data={"csrf": token, "name": "ana", "role": "staff", "password": "short"})
    assert short.status_code == 400 and 'id="password-error"' in short.text
    client.post("/users", data={"csrf": token, "name": "ana", "role": "staff", "password": "long enough now"})
    client.post("/users/ana/role", data={"csrf": token, "role": "organiser"})
    assert "<td>ana</td><td>organiser</td>" in client.get("/users").text
    assert client.post("/users/admin/remove", data={"csrf": token}).status_code == 403  # not oneself
