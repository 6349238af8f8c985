"""plan, status, history and close --dry-run: read-only, in the campaign's zone, readable in 80 columns."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.accounts import state as account_state
from bot.cli import cli
from bot.queries import reports
from bot.states import Kind, Status
from bot.store.models import AuditRow, Base, CampaignRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign

LONG_ID = "peru-children-humanitarian-status"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def snapshot(app) -> dict[str, object]:
    """Everything a report could write: row counts of every table, the audit log, the campaigns' state."""
    with app.sessions() as s:
        counts = {t.name: s.execute(select(func.count()).select_from(t)).scalar() for t in Base.metadata.sorted_tables}
        audit = [(a.action, a.campaign_id) for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]
        campaigns = [(c.id, c.state, c.definition_hash, c.file_status, c.planned_hash)
                     for c in s.scalars(select(CampaignRow))]
    return {"counts": counts, "audit": audit, "campaigns": campaigns,
            "deliveries": [(d.id, d.status, d.updated_at) for d in deliveries(app)]}


def sent_campaign(make_app, campaigns_dir, clock, cid="test", **overrides):
    """A campaign planned two days ahead whose first posts (09:00 Lima) went out."""
    path = write_campaign(campaigns_dir, cid, **overrides)
    app = make_app(horizon_days=2)
    plan(app)
    clock.advance(timedelta(hours=1, minutes=5))
    Dispatcher(app).run_once()
    return app, path


def test_plan_status_history_and_close_preview_write_nothing_even_when_a_file_says_closed(make_app, campaigns_dir,
                                                                                          clock):
    app, path = sent_campaign(make_app, campaigns_dir, clock)
    path.write_text(path.read_text().replace('status = "active"', 'status = "closed"\noutcome = "success"'))
    path.with_name("new.toml").write_text(path.read_text().replace('status = "closed"', 'status = "active"'))
    before = snapshot(app)
    for args in (["plan"], ["plan", "--json"], ["plan", "test"], ["status"], ["status", "--json"], ["history"],
                 ["history", "test", "--json"], ["close", "test", "--outcome", "success", "--dry-run"]):
        code, _, err = invoke(*args)
        assert code == 0, (args, err)
    assert snapshot(app) == before  # the file's close waits for the planner; the new file is not stored


def test_the_preview_shows_a_close_in_the_file_as_closing_messages_to_come_and_no_calls_to_action(
        make_app, campaigns_dir, clock):
    app, path = sent_campaign(make_app, campaigns_dir, clock)
    path.write_text(path.read_text().replace('status = "active"', 'status = "closed"\noutcome = "success"'))
    rows, _ = reports.preview(app, "test", 2)
    assert {r["kind"] for r in rows} == {Kind.CLOSING}
    assert len(rows) == 4 and all(r["on_next_plan"] for r in rows)
    code, out, _ = invoke("plan", "test")
    assert code == 0 and out.count("CLOSE IN THE FILE: queued at the next plan") == 4
    assert all(len(line) <= 80 for line in out.splitlines()), out


def test_plan_json_gives_every_due_at_in_utc_updates_included(make_app, campaigns_dir, clock):
    update = textwrap.dedent("""\
        [[messages.update]]
        id = "hearing"
        at = 2026-12-01T10:30:00
        text = { es = "Audiencia hoy", en = "Hearing today" }
        """)
    write_campaign(campaigns_dir, messages=textwrap.dedent("""\
        [[messages.call_to_action]]
        text = "CTA {{ ask }}"
        [messages.closing.success]
        text = "Thanks"
        [messages.closing.no_further_action]
        text = "No further action"
        """) + update)
    app = make_app(horizon_days=2)
    rows, _ = reports.preview(app, None, 3)
    updates = [r for r in rows if r["kind"] == "update"]
    assert updates and {r["due_at"] for r in updates} == {"2026-12-01T15:30:00+00:00"}
    assert all(r["due_at"].endswith("+00:00") for r in rows)


def test_plan_marks_updates_queued_posts_and_closing_messages(make_app, campaigns_dir, clock):
    clock.set(datetime.now(UTC).replace(microsecond=0))  # the CLI reads the system clock
    news_at = (clock.now() + timedelta(hours=30)).replace(tzinfo=None).isoformat(timespec="seconds")
    write_campaign(campaigns_dir, timezone='timezone = "UTC"', messages=textwrap.dedent(f"""\
        [[messages.call_to_action]]
        text = "CTA {{{{ ask }}}}"
        [messages.closing.success]
        text = "Thanks"
        [messages.closing.no_further_action]
        text = "No further action"
        [[messages.update]]
        id = "news"
        at = {news_at}
        text = "Some news"
        """))
    write_campaign(campaigns_dir, "other", timezone='timezone = "UTC"')
    app = make_app(horizon_days=2)
    plan(app)
    lifecycle.queue(app, "test", clock.now() + timedelta(hours=2), "Extra {{ link }}", "ana", language="en")
    lifecycle.close(app, "other", "success", by="ana")
    code, out, _ = invoke("plan", "--days", "2")
    assert code == 0
    assert "UPDATE" in out and "Some news" in out
    assert "QUEUED" in out and "Extra https://example.org/ua" in out
    assert "CLOSING MESSAGE" in out and "No further action is requested. Many thanks" in out
    assert "call to action" in out


def test_tables_fit_in_80_columns_and_show_whole_ids_when_piped(make_app, campaigns_dir, clock):
    app, _ = sent_campaign(make_app, campaigns_dir, clock, LONG_ID, hashtags='hashtags = ["P"]')
    code, out, _ = invoke("close", LONG_ID, "--outcome", "success", "--dry-run")
    assert code == 0 and all(len(line) <= 80 for line in out.splitlines()), out
    lifecycle.close(app, LONG_ID, "no_further_action", by="ana")
    for args in (["status"], ["history"], ["plan"], ["close", LONG_ID, "--outcome", "success", "--dry-run"]):
        code, out, _ = invoke(*args)
        assert code == 0
        assert "…" not in out
        assert all(len(line) <= 80 for line in out.splitlines()), (args, out)
    code, out, _ = invoke("status")
    assert f"{LONG_ID}: closed (no_further_action)" in out


def test_history_and_status_show_times_in_the_campaigns_zone_and_json_in_utc(make_app, campaigns_dir, clock):
    sent_campaign(make_app, campaigns_dir, clock)
    _, out, _ = invoke("history", "test")
    assert "2026-11-30 09:00 -05" in out and "14:00" not in out
    rows = json.loads(invoke("history", "test", "--status", "sent", "--json")[1])
    assert {r["due_at"] for r in rows} == {"2026-11-30T14:00:00+00:00"}
    _, out, _ = invoke("status")
    assert "next post 2026-11-30 15:00 -05" in out


def test_history_filters_by_status_kind_since_and_keeps_the_most_recent_under_limit(make_app, campaigns_dir,
                                                                                   clock):
    app, _ = sent_campaign(make_app, campaigns_dir, clock)
    clock.advance(timedelta(hours=6))  # the 15:00 posts
    Dispatcher(app).run_once()
    lifecycle.close(app, "test", "success", by="ana")
    everything = reports.history(app, "test")
    assert {r["kind"] for r in reports.history(app, kinds=[Kind.CLOSING])} == {Kind.CLOSING}
    assert {r["status"] for r in reports.history(app, statuses=[Status.SENT])} == {Status.SENT}
    since = datetime(2026, 11, 30, 19, tzinfo=UTC)
    assert all(r["due_at"] >= "2026-11-30T19:00:00+00:00" for r in reports.history(app, since=since))
    last_two = reports.history(app, "test", limit=2)
    assert last_two == everything[-2:]
    code, out, _ = invoke("history", "test", "--status", "sent", "--kind", "call_to_action", "--since", "2026-11-30",
                          "--limit", "3", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3
    assert {(r["status"], r["kind"]) for r in rows} == {(Status.SENT, Kind.CALL_TO_ACTION)}
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


@pytest.mark.parametrize("command", ["plan", "history"])
def test_plan_and_history_of_an_unknown_campaign_are_errors_with_did_you_mean(make_app, campaigns_dir, clock,
                                                                              command):
    sent_campaign(make_app, campaigns_dir, clock)
    code, out, err = invoke(command, "tset")
    assert code == 1 and err.strip() == "error: no campaign 'tset' (did you mean 'test'?)"


def test_status_says_when_the_campaigns_deadline_has_passed(make_app, campaigns_dir, clock):
    app, _ = sent_campaign(make_app, campaigns_dir, clock)
    with app.sessions.begin() as s:
        row = s.get(CampaignRow, "test")
        definition = dict(row.definition)
        definition["campaign"] = {**definition["campaign"], "act_by": "2026-11-20"}  # as lane H4 stores it
        row.definition = definition
    [campaign] = reports.status(app)["campaigns"]
    assert campaign["deadline_passed"] and campaign["act_by"] == "2026-11-21T05:00:00+00:00"
    assert "DEADLINE PASSED" in invoke("status")[1]


def test_status_shows_an_account_held_as_misconfigured(make_app, campaigns_dir, clock, monkeypatch):
    app, _ = sent_campaign(make_app, campaigns_dir, clock)
    reason = "environment variable $A1_TOKEN is not set"
    with app.sessions.begin() as s:
        account_state.update_in(s, "a1", clock.now(), misconfigured_reason=reason)
    [account] = reports.status(app)["accounts"]
    assert account["account"] == "a1" and account["misconfigured"] == reason
    assert f"account a1 MISCONFIGURED (its posts wait): {reason}" in invoke("status")[1]


@pytest.mark.parametrize("spelling", ["no-further-action", "no_further_action"])
def test_close_dry_run_shows_each_closing_message_what_it_replies_under_and_what_is_cancelled(
        make_app, campaigns_dir, clock, spelling):
    app, _ = sent_campaign(make_app, campaigns_dir, clock)
    last = {(d.account_id, d.language): d for d in deliveries(app, status=Status.SENT, kind=Kind.CALL_TO_ACTION)}
    pending = len(deliveries(app, status=Status.PLANNED))
    before = snapshot(app)
    data = reports.close_preview(app, "test", spelling)
    assert data["outcome"] == "no_further_action" and data["cancelled"] == pending
    assert {(m["account"], m["language"]) for m in data["messages"]} == set(last)
    for m in data["messages"]:
        assert m["reply_to"]["remote_id"] == last[(m["account"], m["language"])].remote_id
        assert m["text"] in ("No further action is requested.", "No se requieren más acciones.")
    code, out, _ = invoke("close", "test", "--outcome", spelling, "--dry-run")
    assert code == 0 and f"would cancel {pending} pending post(s)" in out and "replying under delivery" in out
    assert snapshot(app) == before
    lifecycle.close(app, "test", spelling, by="ana")
    assert reports.close_preview(app, "test", "success")["already_closed"]
    assert len(deliveries(app, kind=Kind.CLOSING)) == len(data["messages"])


def test_a_queued_post_in_the_database_is_previewed_once(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=2)
    plan(app)
    lifecycle.queue(app, "test", clock.now() + timedelta(hours=1), "Extra", "ana", language="en")
    rows, _ = reports.preview(app, "test", 1)
    queued = [r for r in rows if r["kind"] == Kind.QUEUED]
    assert len(queued) == 2 and all(r["delivery"] for r in queued)


def test_status_says_whether_a_worker_is_alive(make_app, campaigns_dir, clock):
    from bot.outbox import workers
    from tests.conftest import beat

    app, _ = sent_campaign(make_app, campaigns_dir, clock)
    assert "WORKER: no worker is running" in invoke("status")[1]
    beat(app)
    assert reports.status(app)["worker"]["alive"] is True
    clock.advance(timedelta(minutes=5))  # it stopped beating
    assert reports.status(app)["worker"] == {
        "alive": False, "message": "the worker's last heartbeat was 300 s ago (is `campaign-bot run` running?)"}
    with app.engine.begin() as conn:  # the command runs on the wall clock: a worker beating now
        workers.beat(conn, "another", datetime.now(UTC))
    assert "worker: a worker is alive" in invoke("status")[1]
