"""The JSON API with tokens, approvals, and the CLI commands of the web app."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.actions import approvals, people, posts
from bot.actions.base import Actor, Approvals, Via
from bot.cli import cli
from bot.queries.approvals import pending
from bot.states import Role
from bot.store.access import TokenRow
from tests.conftest import deliveries
from tests.web_fixtures import ADMIN, Web, add_user, csrf_of, token_for, web  # noqa: F401 - the fixture

__all__ = ["web"]


def _bearer(web: Web, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(web.core, role)}"}


def test_the_api_refuses_a_request_without_a_token(web: Web) -> None:
    response = web.client().get("/api/status")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_the_api_ignores_the_session_cookie(web: Web) -> None:
    assert web.client("admin").get("/api/status").status_code == 401


def test_a_token_is_stored_hashed(web: Web) -> None:
    token = token_for(web.core, "staff", "deploy")
    with web.core.sessions() as s:
        stored = s.scalars(select(TokenRow.token_hash)).one()
    assert token not in stored and len(stored) == 64


def test_a_staff_token_closes_a_campaign_through_the_api(web: Web) -> None:
    client = web.client()
    headers = _bearer(web, "staff")
    preview = client.get("/api/campaigns/test/close-preview", params={"outcome": "success"}, headers=headers).json()
    assert len(preview["messages"]) == 4 and preview["already_closed"] is False
    response = client.post("/api/campaigns/test/close", json={"outcome": "success"}, headers=headers)
    assert response.status_code == 200 and response.json()["changed"] is True
    assert len(deliveries(web.core, kind="closing")) == 4
    again = client.post("/api/campaigns/test/close", json={"outcome": "success"}, headers=headers)
    assert again.json()["changed"] is False


def test_an_organiser_token_may_not_stop_everything(web: Web) -> None:
    response = web.client().post("/api/stop", json={"reason": "x"}, headers=_bearer(web, "organiser"))
    assert response.status_code == 403


def test_bad_api_input_is_a_4xx_naming_the_field(web: Web) -> None:
    client = web.client()
    headers = _bearer(web, "organiser")
    missing = client.post("/api/campaigns/test/queue", json={}, headers=headers)
    assert missing.status_code == 422 and missing.json()["detail"][0]["field"] == "text"
    late = client.post("/api/campaigns/test/queue", json={"text": "hi", "at": "soon"}, headers=headers)
    problem = late.json()
    assert late.status_code == 400 and problem["pointer"] == "/at" and "--" not in problem["detail"]
    unknown = client.get("/api/campaigns/nope", headers=headers)
    assert unknown.status_code == 404


def test_an_organisers_post_waits_for_approval_by_someone_else_with_the_staff_role(web: Web) -> None:
    web.app.state.approvals = Approvals(posts=True)
    organiser = web.client("organiser")
    token = csrf_of(organiser, "/campaigns/test")
    organiser.post("/campaigns/test/queue", data={"csrf": token, "text": "Please write", "language": "en"})
    rows = deliveries(web.core, kind="queued")
    assert {r.status for r in rows} == {"awaiting_approval"}
    staff = web.client("staff")
    page = staff.get("/").text
    assert "Awaiting approval" in page and "Please write" in page
    approval_id = page.split('action="/approvals/')[1].split("/")[0]
    staff.post(f"/approvals/{approval_id}/approve", data={"csrf": csrf_of(staff, "/")})
    assert {r.status for r in deliveries(web.core, kind="queued")} == {"planned"}
    audit = web.client("staff").get("/audit", params={"action": "approve"}).text
    assert "staff" in audit and "requested_by=organiser" in audit


def test_nobody_approves_their_own_post(web: Web) -> None:
    from bot.actions.errors import Forbidden

    staff = Actor("staff", Role.STAFF, Via.WEB)
    campaign_requires_approval(web)
    posts.queue(web.core, Actor("organiser", Role.ORGANISER, Via.WEB), "test", at=web.core.clock.now(), text="mine")
    (request,) = pending(web.core)
    posts.edit(web.core, staff, deliveries(web.core, kind="queued")[0].id, text="mine, edited")
    waiting = [a for a in pending(web.core) if a.requested_by == "staff"]
    with pytest.raises(Forbidden, match="someone else"):
        approvals.decide(web.core, staff, waiting[0].id, True)


def campaign_requires_approval(web: Web) -> None:
    from tests.conftest import write_campaign
    from tests.web_fixtures import load

    write_campaign(web.core.config.campaigns_dir, extra='approval = "required"')
    load(web.core)


def _run(web: Web, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    config = str(web.core.config.path)
    result = CliRunner().invoke(cli, [*args[:2], "--config", config, *args[2:]], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_users_are_added_listed_given_a_role_and_removed_from_the_command_line(web: Web) -> None:
    code, _ = _run(web, "users", "add", "ana", "--role", "staff", "--password-env", "ANA_PW",
                   env={"ANA_PW": "a long enough password"})
    assert code == 0
    assert people.sign_in(web.core, "ana", "a long enough password").actor is not None
    assert _run(web, "users", "set-role", "ana", "organiser")[0] == 0
    code, out = _run(web, "users", "list")
    assert "ana\torganiser" in out
    assert _run(web, "users", "remove", "ana")[0] == 0
    assert people.person(web.core, "ana") is None


def test_a_short_password_is_one_clear_line(web: Web) -> None:
    code, out = _run(web, "users", "add", "bo", "--role", "staff", "--password-env", "PW", env={"PW": "short"})
    assert code == 1 and out.strip() == "error: --password-env: at least 10 characters, please"


def test_tokens_create_prints_the_token_once_and_it_works(web: Web) -> None:
    code, out = _run(web, "tokens", "create", "ci", "--role", "staff")
    token = out.splitlines()[0]
    assert code == 0 and token.startswith("cb_")
    assert web.client().get("/api/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_first_run_link_asks_for_a_password_and_works_once(web: Web) -> None:
    for name in ("organiser", "staff", "admin"):
        people.remove_user(web.core, ADMIN, name)
    link = people.first_run_link(web.core, "http://127.0.0.1:8000")
    assert link is not None and people.first_run_link(web.core, "http://127.0.0.1:8000") is None
    client = web.client()
    path = link.removeprefix("http://127.0.0.1:8000")
    page = client.get(path)
    assert page.status_code == 200 and "Choose your password, admin" in page.text
    token = path.split("token=")[1]
    chosen = client.post("/login/once", data={"csrf": csrf_of(client, path), "token": token,
                                              "password": "a long enough password", "again": "a long enough password"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/"
    assert client.get("/").status_code == 200
    assert web.client().get(path).status_code == 400  # used up
    assert people.sign_in(web.core, "admin", "a long enough password").actor is not None


def test_a_close_needing_a_second_staff_member_waits_until_another_approves_it(web: Web) -> None:
    web.app.state.approvals = Approvals(closes=True)
    add_user(web.core, "staff2", "staff")
    first = web.client("staff")
    first.post("/campaigns/test/close", data={"csrf": csrf_of(first, "/"), "outcome": "success", "note": "won"})
    assert deliveries(web.core, kind="closing") == []
    page = first.get("/").text
    assert "Close the case (success): won" in page
    approval_id = page.split('action="/approvals/')[1].split("/")[0]
    own = first.post(f"/approvals/{approval_id}/approve", data={"csrf": csrf_of(first, "/")})
    assert own.status_code == 403 and deliveries(web.core, kind="closing") == []
    second = web.client("staff2")
    second.post(f"/approvals/{approval_id}/approve", data={"csrf": csrf_of(second, "/")})
    assert len(deliveries(web.core, kind="closing")) == 4
    with web.core.sessions() as s:
        from bot.store.models import CampaignRow

        row = s.get(CampaignRow, "test")
        assert row is not None and row.state == "closed" and row.state_changed_by == "staff2"
        assert "requested by staff" in (row.state_note or "")


def test_a_post_awaiting_approval_is_cancelled_by_the_close_and_not_approved_after_it(web: Web) -> None:
    from bot.errors import UserError
    from tests import staff as lifecycle

    campaign_requires_approval(web)
    posts.queue(web.core, Actor("organiser", Role.ORGANISER, Via.WEB), "test", at=web.core.clock.now(),
                text="late post")
    (request,) = pending(web.core)
    lifecycle.close(web.core, "test", "success", "staff")
    with pytest.raises(UserError, match="is closed"):
        approvals.decide(web.core, Actor("staff", Role.STAFF, Via.WEB), request.id, True)
    assert {d.status for d in deliveries(web.core, kind="queued")} == {"cancelled"}  # the close cancelled it


def test_a_campaign_file_that_requires_approval_holds_an_organisers_post_without_a_web_setting(
        web: Web, campaigns_dir) -> None:
    from tests.conftest import write_campaign
    from tests.web_fixtures import load

    write_campaign(campaigns_dir, extra='approval = "required"')
    load(web.core)  # the file changed: the planner stores the new definition
    assert web.app.state.approvals.posts is False
    organiser = web.client("organiser")
    organiser.post("/campaigns/test/queue", data={"csrf": csrf_of(organiser, "/campaigns/test"),
                                                  "text": "Please write", "language": "en"})
    assert {r.status for r in deliveries(web.core, kind="queued")} == {"awaiting_approval"}
