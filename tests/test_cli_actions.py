"""The commands that change state: cancel, edit, queue --at, close's outcomes, pause, reopen, validate folders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from bot.errors import UserError
from bot.states import Kind, Status
from bot.store.models import AuditRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def audit_log(app) -> list[tuple[str, str | None, dict | None]]:
    with app.sessions() as s:
        return [(a.action, a.note, a.details) for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]


@pytest.fixture
def app(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=1)
    plan(app)
    return app


def test_a_cancelled_post_is_never_sent_nor_planned_again_and_the_cancel_is_audited(app, clock):
    lifecycle.queue(app, "test", clock.now() + timedelta(minutes=5), "Extra", "ana", account="a1", language="en")
    [queued] = deliveries(app, kind=Kind.QUEUED)
    cta = deliveries(app, kind=Kind.CALL_TO_ACTION, account_id="a1", status=Status.PLANNED)[0]
    assert lifecycle.cancel_delivery(app, queued.id, "ana", "typo").changed
    lifecycle.cancel_delivery(app, cta.id, "ana")
    plan(app)
    clock.advance(timedelta(days=1))
    plan(app)
    Dispatcher(app).run_once()
    assert deliveries(app, id=queued.id)[0].status == Status.CANCELLED
    assert deliveries(app, id=cta.id)[0].status == Status.CANCELLED
    assert all(s.post.text != "Extra" for s in app.network("a1").posts)
    assert [(a, n, d["delivery"]) for a, n, d in audit_log(app) if a == "cancel"] == [
        ("cancel", "typo", queued.id), ("cancel", None, cta.id)]


def test_only_a_post_not_yet_sent_is_cancelled_with_one_line_otherwise(app, clock):
    clock.advance(timedelta(hours=1))
    Dispatcher(app).run_once()
    sent = deliveries(app, status=Status.SENT)[0]
    with pytest.raises(UserError, match=f"delivery {sent.id} is sent; only a post not sent yet is cancelled"):
        lifecycle.cancel_delivery(app, sent.id, "ana")
    with pytest.raises(UserError, match="no delivery 999999"):
        lifecycle.cancel_delivery(app, 999999, "ana")


def test_editing_a_queued_post_is_validated_like_queue_and_audited(app, clock):
    lifecycle.queue(app, "test", clock.now() + timedelta(hours=1), "Extra", "ana", account="a1", language="en")
    [queued] = deliveries(app, kind=Kind.QUEUED)
    later = clock.now() + timedelta(hours=3)
    lifecycle.edit_delivery(app, queued.id, "ben", text="Now: {{ ask }} {{ link }}", at=later)
    edited = deliveries(app, id=queued.id)[0]
    assert edited.text == "Now: Act now https://example.org/ua" and edited.due_at == later
    with pytest.raises(UserError, match="unknown field"):
        lifecycle.edit_delivery(app, queued.id, "ben", text="{{ target }}")
    with pytest.raises(UserError, match="over console's limit of 500"):
        lifecycle.edit_delivery(app, queued.id, "ben", text="x" * 501)
    with pytest.raises(UserError, match="ago; give a time to come"):
        lifecycle.edit_delivery(app, queued.id, "ben", at=clock.now() - timedelta(days=6))
    cta = deliveries(app, kind=Kind.CALL_TO_ACTION)[0]
    with pytest.raises(UserError, match="only queued posts are edited"):
        lifecycle.edit_delivery(app, cta.id, "ben", text="hi")
    assert deliveries(app, id=queued.id)[0].text == "Now: Act now https://example.org/ua"
    [(_, _, details)] = [e for e in audit_log(app) if e[0] == "edit"]
    assert details == {"delivery": queued.id, "text": "Now: {{ ask }} {{ link }}", "due_at": later.isoformat()}


def test_cancel_and_edit_on_the_command_line(app, clock):
    at = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    code, out, err = invoke("queue", "test", "--at", at, "--text", "Extra", "--account", "a1", "--language", "en")
    assert code == 0, err
    [queued] = deliveries(app, kind=Kind.QUEUED)
    code, out, err = invoke("edit", str(queued.id), "--text", "Better {{ link }}")
    assert code == 0 and out.strip() == f"delivery {queued.id} edited: text", err
    assert deliveries(app, id=queued.id)[0].text == "Better https://example.org/ua"
    code, _, err = invoke("edit", str(queued.id), "--at", "2020-01-01T00:00Z")
    assert code == 1 and err.count("\n") == 1 and "ago" in err
    code, out, _ = invoke("cancel", str(queued.id), "--note", "not needed")
    assert code == 0 and deliveries(app, id=queued.id)[0].status == Status.CANCELLED
    code, _, err = invoke("cancel", str(queued.id))
    assert code == 1 and err == f"error: delivery {queued.id} is cancelled; only a post not sent yet is cancelled\n"


def test_queue_at_a_past_time_is_refused_in_one_line_with_a_rounded_duration_and_now_still_works(app):
    six_days_ago = (datetime.now(UTC) - timedelta(days=6, hours=3)).isoformat(timespec="seconds")
    code, _, err = invoke("queue", "test", "--at", six_days_ago, "--text", "Late", "--language", "en")
    assert code == 1 and err == f"error: --at: {six_days_ago} was 6 days ago; give a time to come, or now\n"
    assert not deliveries(app, kind=Kind.QUEUED)
    code, out, err = invoke("queue", "test", "--at", "now", "--text", "Now", "--language", "en")
    assert code == 0 and out.startswith("queued 2 post(s)"), err


@pytest.mark.parametrize(("delta", "words"), [
    (timedelta(seconds=45), "45 seconds"), (timedelta(seconds=90), "2 minutes"), (timedelta(minutes=59), "59 minutes"),
    (timedelta(hours=2, minutes=20), "2 hours"), (timedelta(days=2522, hours=14, minutes=24, seconds=15.2),
                                                   "2523 days"), (timedelta(hours=-30), "30 hours"),
])
def test_durations_are_printed_rounded(delta, words):
    assert lifecycle.human_duration(delta) == words


@pytest.mark.parametrize("spelling", ["no-further-action", "no_further_action"])
def test_close_accepts_both_spellings_of_no_further_action(app, spelling):
    code, out, err = invoke("close", "test", "--outcome", spelling, "--by", "ana")
    assert code == 0 and "closed test (no_further_action)" in out, err


def test_close_refuses_an_unknown_outcome_as_a_usage_error(app):
    code, _, err = invoke("close", "test", "--outcome", "won")
    assert code == 2 and "unknown outcome 'won': use success or no-further-action" in err


def test_reopen_requires_its_campaign(app):
    code, _, err = invoke("reopen")
    assert code == 2 and "Missing argument 'CAMPAIGN'" in err


def test_pause_takes_its_note_as_note_or_reason_and_pause_all_requires_a_reason(app):
    assert invoke("pause", "test", "--reason", "checking facts", "--by", "ana")[0] == 0
    assert invoke("resume", "test", "--note", "checked", "--by", "ana")[0] == 0
    code, _, err = invoke("pause", "--all")
    assert code == 1 and err.startswith("error: pause --all: give --reason")
    assert invoke("pause", "--all", "--note", "incident", "--by", "dan")[0] == 0
    notes = [(a, n) for a, n, _ in audit_log(app) if a in ("pause", "resume", "pause_all")]
    assert notes == [("pause", "checking facts"), ("resume", "checked"), ("pause_all", "incident")]


def test_validate_accepts_a_folder(app, campaigns_dir):
    write_campaign(campaigns_dir, "broken", timezone='timezone = "America/Lma"')
    code, out, err = invoke("validate", str(campaigns_dir))
    assert code == 1 and "1 campaign(s) valid, 1 invalid" in out and "America/Lma" in err
