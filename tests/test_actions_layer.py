"""Every state change a person can make goes through bot/actions/, whatever the surface: each state-changing
route and command calls an action (and a new one without a line here fails), the CLI, the pages and the API
leave the same audit record for the same action, no refusal on the web or the API names a command-line flag,
and what was approved is what goes out: changing an approved post's text or time needs a new approval, from
someone other than the person who changed it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.actions import approvals, people, posts
from bot.actions.base import Actor, Approvals, Via, recording
from bot.actions.messages import MESSAGES, render
from bot.cli import cli
from bot.queries.approvals import pending
from bot.states import Role, Status
from bot.store.access import UserRow
from bot.store.models import AccountStateRow, AuditRow, DeliveryRow
from tests.conftest import deliveries, write_campaign
from tests.test_web_roles import _routes
from tests.web_fixtures import Web, add_user, csrf_of, load, token_for, web  # noqa: F401 - the fixture

__all__ = ["web"]

ORGANISER = Actor("organiser", Role.ORGANISER, Via.WEB)
ADMIN_CLI = Actor("test", Role.ADMIN, Via.CLI)
STAFF = Actor("staff", Role.STAFF, Via.WEB)
# State-changing routes whose action tests/test_connect.py sees called (they need a Mastodon or Bluesky server).
SUPPORTER_ROUTES = {("GET", "/connect/mastodon/callback"), ("POST", "/c/{campaign_id}/connect/bluesky"),
                    ("POST", "/m/{token}"), ("POST", "/m/{token}/disconnect")}
NOT_STATE_CHANGES = {
    ("POST", "/login"): "signing in checks a password (bot/actions/people.py sign_in records it)",
    ("POST", "/campaigns/{campaign}/measure"): "reads: a text's length per account",
    ("POST", "/api/campaigns/{campaign}/measure"): "reads: a text's length per account",
    ("POST", "/c/{campaign_id}/connect/mastodon"): "starts OAuth on the supporter's server; the callback connects",
}
READ_ONLY_COMMANDS = {"plan", "status", "history", "validate", "report", "approvals list", "supporters list",
                      "users list", "supporters connect-url", "secrets new-key", "accounts check", "alerts test"}
RUNNING_COMMANDS = {"run", "web", "db upgrade", "secrets rotate"}
"""Not a person's change of the campaigns: the worker, the web server, the schema, re-encrypting the stored
secrets with a new key."""


@pytest.fixture
def approving(web: Web, campaigns_dir: Any) -> Web:
    """The test campaign asks for approval of organisers' posts (its file says so)."""
    write_campaign(campaigns_dir, extra='approval = "required"')
    load(web.core)
    return web


@contextmanager
def calls(action: str) -> Iterator[None]:
    with recording() as seen:
        yield
    assert action in seen, f"expected {action}, saw {seen}"


def form(client: Any, path: str, data: dict[str, Any] | None = None, page: str = "/") -> Any:
    answer = client.post(path, data={"csrf": csrf_of(client, page), **(data or {})})
    assert answer.status_code in (200, 303), (path, answer.status_code, answer.text[:300])
    return answer


def api(client: Any, path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    answer = client.post(path, json=body or {}, headers=headers)
    assert answer.status_code == 200, (path, answer.text)
    return answer


def queued_ids(web: Web) -> list[int]:
    return [d.id for d in deliveries(web.core, kind="queued")]


def _commands(group: click.Group, prefix: str = "") -> Iterator[str]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # click's interface: the top-level group loads its commands lazily
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_every_route_and_command_that_changes_state_calls_an_action(web: Web) -> None:
    core, now = web.core, web.core.clock.now()
    organiser, staff, admin = web.client("organiser"), web.client("staff"), web.client("admin")
    bearer = {role: {"Authorization": f"Bearer {token_for(core, role)}"} for role in ("organiser", "staff")}
    done: set[tuple[str, str]] = set()

    def step(route: tuple[str, str], action: str, run: Callable[[], Any]) -> None:
        with calls(action):
            run()
        done.add(route)

    later = (now + timedelta(hours=2)).isoformat()
    step(("POST", "/campaigns/{campaign}/queue"), "posts.queue", lambda: form(
        organiser, "/campaigns/test/queue", {"text": "Page post", "language": "en"}, "/campaigns/test"))
    first = queued_ids(web)[0]
    step(("POST", "/deliveries/{delivery_id}/edit"), "posts.edit", lambda: form(
        organiser, f"/deliveries/{first}/edit", {"text": "Page post, edited"}, f"/deliveries/{first}/edit"))
    step(("POST", "/deliveries/{delivery_id}/cancel"), "posts.cancel", lambda: form(
        organiser, f"/deliveries/{first}/cancel", page="/campaigns/test"))
    step(("POST", "/api/campaigns/{campaign}/queue"), "posts.queue", lambda: api(
        organiser, "/api/campaigns/test/queue", bearer["organiser"], {"text": "API post", "at": later}))
    mine = max(queued_ids(web))
    step(("POST", "/api/deliveries/{delivery_id}/edit"), "posts.edit", lambda: api(
        organiser, f"/api/deliveries/{mine}/edit", bearer["organiser"], {"text": "API post, edited"}))
    step(("POST", "/api/deliveries/{delivery_id}/cancel"), "posts.cancel", lambda: api(
        organiser, f"/api/deliveries/{mine}/cancel", bearer["organiser"]))
    for name in ("pause", "resume"):
        step(("POST", f"/campaigns/{{campaign}}/{name}"), f"campaigns.{name}",
             functools.partial(form, staff, f"/campaigns/test/{name}", page="/campaigns/test"))
        step(("POST", "/api/campaigns/{campaign}/state/{action}"), f"campaigns.{name}",
             functools.partial(api, staff, f"/api/campaigns/test/state/{name}", bearer["staff"]))
    step(("POST", "/stop"), "emergency.stop_everything", lambda: form(staff, "/stop", {"reason": "a drill"}))
    step(("POST", "/stop/lift"), "emergency.lift_stop", lambda: form(staff, "/stop/lift"))
    step(("POST", "/api/stop"), "emergency.stop_everything", lambda: api(staff, "/api/stop", bearer["staff"],
                                                                          {"reason": "a drill"}))
    step(("POST", "/api/stop/lift"), "emergency.lift_stop", lambda: api(staff, "/api/stop/lift", bearer["staff"]))
    step(("POST", "/campaigns/{campaign}/close"), "campaigns.close", lambda: form(
        staff, "/campaigns/test/close", {"outcome": "success"}, "/campaigns/test/close"))
    step(("POST", "/campaigns/{campaign}/reopen"), "campaigns.reopen", lambda: form(
        staff, "/campaigns/test/reopen", page="/campaigns/test"))
    step(("POST", "/api/campaigns/{campaign}/close"), "campaigns.close", lambda: api(
        staff, "/api/campaigns/test/close", bearer["staff"], {"outcome": "success"}))
    with core.sessions.begin() as s:  # a closing message whose outcome nobody knows
        closing = s.scalars(select(DeliveryRow).where(DeliveryRow.kind == "closing")).first()
        assert closing is not None
        closing.status, closing.error = Status.UNKNOWN, "the worker stopped mid-send"
        s.add(AccountStateRow(account_id="a1", disabled=True, disabled_reason="401"))
    step(("POST", "/deliveries/{delivery_id}/resolve"), "posts.resolve", lambda: form(
        staff, f"/deliveries/{closing.id}/resolve", {"action": "resend"}))
    with core.sessions.begin() as s:  # in doubt again, for the API's way of settling it
        s.get_one(DeliveryRow, closing.id).status = Status.UNKNOWN
    step(("POST", "/api/deliveries/{delivery_id}/resolve"), "posts.resolve", lambda: api(
        staff, f"/api/deliveries/{closing.id}/resolve", bearer["staff"], {"action": "cancel"}))
    step(("POST", "/accounts/{account}/enable"), "accounts.enable_account", lambda: form(
        admin, "/accounts/a1/enable", page="/accounts"))
    web.app.state.approvals = Approvals(posts=True, closes=False)
    form(staff, "/campaigns/test/reopen", page="/campaigns/test")
    for _ in range(2):
        posts.queue(core, ORGANISER, "test", at=now, text="Please approve", approvals=Approvals(posts=True))
    first_request, second_request = pending(core)
    step(("POST", "/approvals/{approval_id}/{decision}"), "approvals.decide", lambda: form(
        staff, f"/approvals/{first_request.id}/approve"))
    step(("POST", "/api/approvals/{approval_id}/{decision}"), "approvals.decide", lambda: api(
        staff, f"/api/approvals/{second_request.id}/reject", bearer["staff"], {"reason": "not now"}))
    step(("POST", "/users"), "people.add_user", lambda: form(
        admin, "/users", {"name": "ana", "role": "staff", "password": "a long enough password"}, "/users"))
    step(("POST", "/users/{name}/role"), "people.set_role", lambda: form(
        admin, "/users/ana/role", {"role": "organiser"}, "/users"))
    step(("POST", "/users/{name}/remove"), "people.remove_user", lambda: form(admin, "/users/ana/remove",
                                                                               page="/users"))
    step(("POST", "/users/{name}/password-link"), "people.issue_password_link", lambda: form(
        admin, "/users/staff/password-link", page="/users"))
    with core.sessions() as s:  # the link the page showed, read back the way the test can: issue one more here
        assert s.scalars(select(UserRow.signin_token_hash).where(UserRow.name == "staff")).one()
    link = people.issue_password_link(core, ADMIN_CLI, "staff", "http://127.0.0.1")[1]
    path = link.removeprefix("http://127.0.0.1")
    stranger = web.client()
    step(("POST", "/login/once"), "people.use_password_link", lambda: form(stranger, "/login/once", {
        "token": path.split("token=")[1], "password": "a new long password", "again": "a new long password"}, path))
    step(("POST", "/password"), "people.change_password", lambda: form(
        organiser, "/password", {"current": "correct horse battery", "password": "another long password",
                                 "again": "another long password"}, "/password"))
    step(("POST", "/language"), "people.set_language", lambda: form(
        organiser, "/language", {"language": "en"}, "/language"))
    step(("POST", "/logout"), "people.sign_out", lambda: form(organiser, "/logout"))

    changing = {(m, p) for m, p, _ in _routes() if m not in ("GET", "HEAD")} | SUPPORTER_ROUTES
    assert changing - done - SUPPORTER_ROUTES - set(NOT_STATE_CHANGES) == set()

    config = str(core.config.path)

    def run(*args: str) -> None:
        result = CliRunner().invoke(cli, [*args, "--config", config], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    commands = {"queue": ("posts.queue", ["queue", "test", "--at", "now", "--text", "CLI post", "--language", "en"])}
    with calls("posts.queue"):  # the CLI keeps the system's clock: its now is days after the test's
        run(*commands["queue"][1])
    cli_post = max(queued_ids(web))
    runs: dict[str, tuple[str, list[str]]] = {
        "edit": ("posts.edit", ["edit", str(cli_post), "--text", "CLI post, edited"]),
        "cancel": ("posts.cancel", ["cancel", str(cli_post)]),
        "pause": ("campaigns.pause", ["pause", "test"]),
        "resume": ("campaigns.resume", ["resume", "test"]),
        "close": ("campaigns.close", ["close", "test", "--outcome", "success"]),
        "reopen": ("campaigns.reopen", ["reopen", "test"]),
        "accounts enable": ("accounts.enable_account", ["accounts", "enable", "a2"]),
        "users add": ("people.add_user", ["users", "add", "bo", "--role", "staff", "--password-env", "BO"]),
        "users set-role": ("people.set_role", ["users", "set-role", "bo", "organiser"]),
        "users set-language": ("people.set_language", ["users", "set-language", "bo", "en"]),
        "users remove": ("people.remove_user", ["users", "remove", "bo"]),
        "tokens create": ("people.create_token", ["tokens", "create", "cli-token", "--role", "staff"]),
        "users password-link": ("people.issue_password_link", ["users", "password-link", "admin"]),
    }
    with core.sessions.begin() as s:
        s.add(AccountStateRow(account_id="a2", disabled=True, disabled_reason="401"))
    for command, (action, args) in runs.items():
        with calls(action):
            result = CliRunner().invoke(cli, [*args, "--config", config], env={"BO": "a long enough password"},
                                        catch_exceptions=False)
            assert result.exit_code == 0, result.output
        commands[command] = (action, args)
    web.app.state.approvals = Approvals()
    posts.queue(core, ORGANISER, "test", at=now, text="Please approve", approvals=Approvals(posts=True))
    posts.queue(core, ORGANISER, "test", at=now, text="Please approve", approvals=Approvals(posts=True))
    waiting = [a.id for a in pending(core)]
    for command, decision, approval in (("approvals approve", "approve", waiting[0]),
                                        ("approvals reject", "reject", waiting[1])):
        with calls("approvals.decide"):
            run("approvals", decision, str(approval))
        commands[command] = ("approvals.decide", [])
    with core.sessions.begin() as s:
        s.execute(update(DeliveryRow).where(DeliveryRow.kind == "closing").values(status=Status.FAILED))
        failed = s.scalars(select(DeliveryRow.id).where(DeliveryRow.kind == "closing")).first()
    with calls("posts.resolve"):
        run("resolve", str(failed), "--cancel")
    commands["resolve"] = ("posts.resolve", [])
    with calls("emergency.stop_everything"):
        run("pause", "--all", "--reason", "a drill")
    with calls("emergency.lift_stop"):
        run("resume", "--all")
    supporters = {"supporters add", "supporters remove", "supporters undo"}  # tests/test_supporters_cli.py
    every = set(_commands(cli))
    assert every - set(commands) - supporters - READ_ONLY_COMMANDS - RUNNING_COMMANDS == set()


AUDIT_FIELDS = ("actor", "action", "campaign_id", "note", "details")


def audit_since(web: Web, after: int) -> list[tuple[Any, ...]]:
    with web.core.sessions() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.id > after).order_by(AuditRow.id))
        return [tuple(getattr(r, f) for f in AUDIT_FIELDS) for r in rows]


def last_audit_id(web: Web) -> int:
    with web.core.sessions() as s:
        return s.scalar(select(AuditRow.id).order_by(AuditRow.id.desc()).limit(1)) or 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_the_pages_and_the_api_leave_the_same_audit_record_for_the_same_action(web: Web) -> None:
    staff_page, config = web.client("staff"), str(web.core.config.path)
    token = {"Authorization": f"Bearer {token_for(web.core, 'staff')}"}
    surfaces: dict[str, Callable[[str, str], object]] = {
        "cli": lambda action, note: CliRunner().invoke(cli, [action, "test", "--note", note, "--as", "staff",
                                                             "--config", config], catch_exceptions=False),
        "web": lambda action, note: form(staff_page, f"/campaigns/test/{action}", {"note": note}, "/campaigns/test"),
        "api": lambda action, note: api(staff_page, f"/api/campaigns/test/state/{action}", token, {"note": note}),
    }
    records = {}
    for surface, do in surfaces.items():
        before = last_audit_id(web)
        do("pause", "checking the texts")
        do("resume", "checked")
        records[surface] = audit_since(web, before)
    assert records["cli"] == records["web"] == records["api"]
    assert [r[:2] for r in records["cli"]] == [("staff", "pause"), ("staff", "resume")]

    with web.core.sessions.begin() as s:  # the account a network refused, three times over
        s.add(AccountStateRow(account_id="a1", disabled=True, disabled_reason="401"))
    before = last_audit_id(web)
    CliRunner().invoke(cli, ["accounts", "enable", "a1", "--as", "admin", "--config", config],
                       catch_exceptions=False)
    from_cli = audit_since(web, before)
    with web.core.sessions.begin() as s:
        s.execute(update(AccountStateRow).values(disabled=True))
    admin = web.client("admin")
    before = last_audit_id(web)
    form(admin, "/accounts/a1/enable", page="/accounts")
    assert audit_since(web, before) == from_cli == [("admin", "enable_account", None, "a1", None)]


def test_an_organisers_edit_of_an_approved_post_through_the_page_waits_for_a_new_approval(approving: Web) -> None:
    web = approving
    organiser, staff = web.client("organiser"), web.client("staff")
    form(organiser, "/campaigns/test/queue", {"text": "Approved words", "language": "en"}, "/campaigns/test")
    (request,) = pending(web.core)
    form(staff, f"/approvals/{request.id}/approve")
    assert {d.status for d in deliveries(web.core, kind="queued")} == {Status.PLANNED}
    post = deliveries(web.core, kind="queued")[0]
    form(organiser, f"/deliveries/{post.id}/edit", {"text": "Words nobody approved"}, f"/deliveries/{post.id}/edit")
    edited = deliveries(web.core, id=post.id)[0]
    assert edited.status == Status.AWAITING_APPROVAL and edited.text == "Words nobody approved"
    assert [a.text for a in pending(web.core)] == ["Words nobody approved"]
    assert {d.status for d in deliveries(web.core, kind="queued") if d.id != post.id} == {Status.PLANNED}


def test_an_organisers_edit_of_an_approved_post_through_the_api_waits_for_a_new_approval(approving: Web) -> None:
    web = approving
    client = web.client()
    organiser = {"Authorization": f"Bearer {token_for(web.core, 'organiser')}"}
    staff = {"Authorization": f"Bearer {token_for(web.core, 'staff')}"}
    api(client, "/api/campaigns/test/queue", organiser, {"text": "Approved words", "language": "en"})
    (request,) = pending(web.core)
    api(client, f"/api/approvals/{request.id}/approve", staff)
    post = deliveries(web.core, kind="queued")[0]
    later = (web.core.clock.now() + timedelta(days=2)).isoformat()
    api(client, f"/api/deliveries/{post.id}/edit", organiser, {"at": later})
    assert deliveries(web.core, id=post.id)[0].status == Status.AWAITING_APPROVAL
    (again,) = pending(web.core)
    assert again.requested_by == "organiser" and again.edit_of == request.id


def test_a_staff_members_own_edit_of_an_approved_post_needs_a_second_staff_member(approving: Web) -> None:
    web = approving
    add_user(web.core, "staff2", "staff")
    posts.queue(web.core, ORGANISER, "test", at=web.core.clock.now(), text="Approved words")
    (request,) = pending(web.core)
    approvals.decide(web.core, STAFF, request.id, True)
    post = deliveries(web.core, kind="queued")[0]
    posts.edit(web.core, STAFF, post.id, text="My own better words")
    (again,) = pending(web.core)
    staff_page = web.client("staff")
    own = staff_page.post(f"/approvals/{again.id}/approve", data={"csrf": csrf_of(staff_page, "/")})
    assert own.status_code == 403 and deliveries(web.core, id=post.id)[0].status == Status.AWAITING_APPROVAL
    form(web.client("staff2"), f"/approvals/{again.id}/approve")
    assert deliveries(web.core, id=post.id)[0].status == Status.PLANNED


def test_a_staff_token_does_not_approve_what_the_person_who_created_it_asked_for(approving: Web) -> None:
    web = approving
    web.app.state.approvals = Approvals(closes=True)
    staff_page = web.client("staff")
    form(staff_page, "/campaigns/test/close", {"outcome": "success"}, "/campaigns/test/close")
    (request,) = pending(web.core)
    own_token = {"Authorization": f"Bearer {token_for(web.core, 'staff', 'deploy')}"}
    answer = web.client().post(f"/api/approvals/{request.id}/approve", json={}, headers=own_token)
    assert answer.status_code == 403 and answer.json()["code"] == "four_eyes"
    add_user(web.core, "staff2", "staff")
    other = {"Authorization": f"Bearer {token_for(web.core, 'staff', 'other', owner='staff2')}"}
    api(web.client(), f"/api/approvals/{request.id}/approve", other)
    assert len(deliveries(web.core, kind="closing")) == 4


def test_a_token_never_acts_with_more_than_its_creators_role(web: Web) -> None:
    with pytest.raises(Exception, match="needs the staff role"):
        people.create_token(web.core, Actor("organiser", Role.ORGANISER, Via.CLI), "too-strong", "staff")


def test_no_refusal_on_the_web_or_the_api_names_a_command_line_flag(web: Web) -> None:
    params = {k: "x" for text in MESSAGES.values() for k in _fields(text)}
    assert [code for code in MESSAGES if "--" in render(code, params)] == []
    organiser = web.client("organiser")
    past = (web.core.clock.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page = organiser.post("/campaigns/test/queue", data={"csrf": csrf_of(organiser, "/campaigns/test"),
                                                         "text": "{{ nope }}", "language": "en"})
    assert page.status_code == 400 and "unknown field" in page.text and "--text" not in page.text
    page = organiser.post("/campaigns/test/queue", data={"csrf": csrf_of(organiser, "/campaigns/test"),
                                                         "text": "Late", "at": past, "language": "en"})
    assert page.status_code == 400 and "give a time to come" in page.text and "--at" not in page.text
    headers = {"Authorization": f"Bearer {token_for(web.core, 'organiser')}"}
    for body, pointer in (({"text": "{{ nope }}"}, "/text"), ({"text": "hi", "at": "yesterday"}, "/at"),
                          ({"text": "hi", "language": "xx"}, "/language"), ({"text": "hi", "account": "a9"},
                                                                            "/account")):
        answer = web.client().post("/api/campaigns/test/queue", json=body, headers=headers)
        problem = answer.json()
        assert answer.status_code == 400 and problem["pointer"] == pointer and "--" not in problem["detail"], problem


def _fields(template: str) -> list[str]:
    import string

    return [name.split("!")[0] for _, name, _, _ in string.Formatter().parse(template) if name]
