from datetime import timedelta

from sqlalchemy import select

from bot.states import Kind, Status
from bot.store.models import AuditRow, CampaignRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign


def running_campaign(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=2)
    plan(app)
    clock.advance(timedelta(hours=1, minutes=5))  # the 09:00 Lima posts go out
    Dispatcher(app).run_once()
    return app


def test_closing_cancels_pending_calls_to_action_and_queues_a_closing_reply_per_account(make_app, campaigns_dir,
                                                                                         clock):
    app = running_campaign(make_app, campaigns_dir, clock)
    pending = len(deliveries(app, status=Status.PLANNED))
    result = lifecycle.close(app, "test", "success", by="ana", note="status granted on 17 December")
    assert result.changed and f"cancelled {pending}" in result.message
    assert not deliveries(app, status=Status.PLANNED, kind=Kind.CALL_TO_ACTION)
    cancelled = deliveries(app, status=Status.CANCELLED)
    assert len(cancelled) == pending and all("closed (success) by ana" in d.error for d in cancelled)
    closing = deliveries(app, kind=Kind.CLOSING)
    assert {(d.account_id, d.language) for d in closing} == {("a1", "es"), ("a1", "en"), ("a2", "es"), ("a2", "en")}
    en = [d for d in closing if d.language == "en"]
    assert en[0].text == "No further action is requested. Many thanks to all who sent appeals."


def test_each_closing_message_is_sent_once_as_a_reply_to_the_accounts_last_call_to_action(make_app, campaigns_dir,
                                                                                         clock):
    app = running_campaign(make_app, campaigns_dir, clock)
    sent = deliveries(app, status=Status.SENT, kind=Kind.CALL_TO_ACTION)
    last_cta = {(d.account_id, d.language): d.remote_id for d in sent}
    lifecycle.close(app, "test", "no-further-action", by="ana")
    d = Dispatcher(app)
    assert d.run_once() == 4
    assert d.run_once() == 0
    clock.advance(timedelta(days=3))
    plan(app)
    assert d.run_once() == 0  # nothing more, ever: no call to action after the close
    closing = deliveries(app, kind=Kind.CLOSING)
    assert all(c.status == Status.SENT for c in closing)
    for c in closing:
        assert c.in_reply_to == last_cta[(c.account_id, c.language)]
    for account in ("a1", "a2"):
        net = app.network(account)
        replies = [s.post for s in net.posts if s.post.in_reply_to is not None]
        assert len(replies) == 2
        assert net.posts[-1].post.text in ("No further action is requested.", "No se requieren más acciones.")


def test_closing_again_says_so_and_changes_nothing(make_app, campaigns_dir, clock):
    app = running_campaign(make_app, campaigns_dir, clock)
    lifecycle.close(app, "test", "success", by="ana")
    before = [(d.id, d.status) for d in deliveries(app)]
    again = lifecycle.close(app, "test", "no-further-action", by="ben")
    assert not again.changed and "already closed (success)" in again.message and "by ana" in again.message
    assert [(d.id, d.status) for d in deliveries(app)] == before


def test_a_call_to_action_due_before_the_close_but_not_yet_claimed_is_not_sent_after_it(make_app, campaigns_dir,
                                                                                        clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=1)
    plan(app)
    clock.advance(timedelta(hours=1))
    d = Dispatcher(app)
    lifecycle.close(app, "test", "success", by="ana")
    d.run_once()
    closing_a1 = [dd.id for dd in deliveries(app, kind=Kind.CLOSING, account_id="a1")]
    assert sorted(s.post.delivery_id for s in app.network("a1").posts) == closing_a1  # no call to action
    assert {dd.kind for dd in deliveries(app, status=Status.SENT)} == {Kind.CLOSING}


def test_pause_holds_a_campaign_and_resume_lets_it_go_on(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=1)
    plan(app)
    assert lifecycle.set_state(app, "test", "pause", by="ana").changed
    clock.advance(timedelta(hours=1))
    assert Dispatcher(app).run_once() == 0
    assert not lifecycle.set_state(app, "test", "pause", by="ana").changed
    lifecycle.set_state(app, "test", "resume", by="ana")
    assert Dispatcher(app).run_once() == 4


def test_the_emergency_stop_holds_every_dispatch_including_closing_messages(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    write_campaign(campaigns_dir, "other")
    app = make_app(horizon_days=1)
    plan(app)
    lifecycle.pause_all(app, "ana", "account compromised?", paused=True)
    lifecycle.close(app, "other", "success", by="ana")
    clock.advance(timedelta(hours=1))
    assert Dispatcher(app).run_once() == 0
    lifecycle.pause_all(app, "ana", None, paused=False)
    assert Dispatcher(app).run_once() == 8  # test's 4 calls to action and other's 4 closing messages


def test_reopen_cancels_unsent_closing_messages_and_plans_again(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=1)
    plan(app)
    calls = [d.id for d in deliveries(app, kind=Kind.CALL_TO_ACTION)]
    lifecycle.close(app, "test", "success", by="ana")
    assert lifecycle.set_state(app, "test", "reopen", by="ana", note="closed by mistake").changed
    assert all(d.status == Status.CANCELLED for d in deliveries(app, kind=Kind.CLOSING))
    report = plan(app)
    assert (report.inserted, report.updated) == (0, len(calls))  # the cancelled calls planned again, no new rows
    assert [d.id for d in deliveries(app, status=Status.PLANNED)] == calls


def test_a_file_edited_to_closed_closes_the_campaign_on_reload(make_app, campaigns_dir, clock):
    path = write_campaign(campaigns_dir)
    app = make_app(horizon_days=1)
    plan(app)
    path.write_text(path.read_text().replace('status = "active"', 'status = "closed"\noutcome = "success"'))
    plan(app)
    with app.sessions() as s:
        row = s.get(CampaignRow, "test")
        assert (row.state, row.outcome, row.state_changed_by) == ("closed", "success", "campaign file")
    assert len(deliveries(app, kind=Kind.CLOSING)) == 4
    plan(app)  # reloading again is not a second close
    assert len(deliveries(app, kind=Kind.CLOSING)) == 4


def test_a_cli_close_holds_even_while_the_file_still_says_active(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=1)
    plan(app)
    lifecycle.close(app, "test", "success", by="ana")
    clock.advance(timedelta(hours=1))
    plan(app)
    with app.sessions() as s:
        assert s.get(CampaignRow, "test").state == "closed"
    assert not deliveries(app, status=Status.PLANNED, kind=Kind.CALL_TO_ACTION)


def test_every_state_change_is_audited(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app(horizon_days=1)
    plan(app)
    lifecycle.set_state(app, "test", "pause", by="ana", note="checking facts")
    lifecycle.set_state(app, "test", "resume", by="ana")
    lifecycle.queue(app, "test", clock.now(), "extra", "ben", language="en")
    lifecycle.close(app, "test", "success", by="carla", note="won")
    lifecycle.pause_all(app, "dan", "incident", paused=True)
    with app.sessions() as s:
        log = [(a.actor, a.action, a.campaign_id, a.note) for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]
    assert log == [
        ("campaign file", "load", "test", None),
        ("ana", "pause", "test", "checking facts"),
        ("ana", "resume", "test", None),
        ("ben", "queue", "test", "extra"),
        ("carla", "close", "test", "won"),
        ("dan", "pause_all", None, "incident"),
    ]


def test_queue_refuses_a_closed_campaign_and_bad_input_in_one_line(make_app, campaigns_dir, clock):
    import pytest

    from bot.errors import UserError

    write_campaign(campaigns_dir)
    app = make_app(horizon_days=1)
    plan(app)
    with pytest.raises(UserError, match="unknown field"):
        lifecycle.queue(app, "test", clock.now(), "{{ target }}", "ana")
    with pytest.raises(UserError, match="over console's limit of 500"):
        lifecycle.queue(app, "test", clock.now(), "x" * 501, "ana")
    with pytest.raises(UserError, match="is not one of the campaign's accounts"):
        lifecycle.queue(app, "test", clock.now(), "hi", "ana", account="a9")
    with pytest.raises(UserError, match="needs a UTC offset"):
        lifecycle.parse_when("2026-12-01T09:00", clock.now())
    lifecycle.close(app, "test", "success", by="ana")
    with pytest.raises(UserError, match="is closed"):
        lifecycle.queue(app, "test", clock.now(), "hi", "ana")
