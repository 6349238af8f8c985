"""A close while calls to action are in flight, and where the closing message threads (issue 7, items 2 and 9)."""

from datetime import timedelta

from bot.networks.base import OutcomeUnknown, TransientError
from bot.states import Kind, Status
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork
from tests.test_dispatch import LATER, bootstrap_like


def one_account(make_app, campaigns_dir, *, idempotent=True, lease_seconds=300, schedule=None):
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]', ask='ask = "Act"',
                   **({"schedule": schedule} if schedule else {}))
    net = FakeNetwork("a1", idempotent=idempotent)
    app = make_app(networks={"a1": net}, accounts=("a1",), horizon_days=1, lease_seconds=lease_seconds)
    plan(app)
    return app, net


def close_during_publish(app, net):
    """The close lands while the worker is inside the network call."""
    def hook(post):
        net.on_publish = None
        lifecycle.close(app, "test", "success", by="ana")

    net.on_publish = hook


def test_a_call_to_action_that_went_out_while_the_campaign_closed_is_sent_and_the_closing_replies_under_it(
        make_app, campaigns_dir, clock):
    app, net = one_account(make_app, campaigns_dir)
    clock.advance(timedelta(hours=1))  # the 09:00 Lima post is due
    close_during_publish(app, net)
    Dispatcher(app).run_once()
    [cta] = [d for d in deliveries(app, kind=Kind.CALL_TO_ACTION) if d.status == Status.SENT]
    [closing] = deliveries(app, kind=Kind.CLOSING)
    assert closing.status == Status.SENT and closing.in_reply_to == cta.remote_id


def test_a_call_to_action_that_surely_did_not_go_out_when_the_campaign_closed_is_cancelled_never_planned(
        make_app, campaigns_dir, clock):
    app, net = one_account(make_app, campaigns_dir)
    clock.advance(timedelta(hours=1))
    close_during_publish(app, net)
    net.fail_next(TransientError("503 Service Unavailable"))
    Dispatcher(app).run_once()
    [attempted] = [d for d in deliveries(app, kind=Kind.CALL_TO_ACTION) if d.attempts]
    assert attempted.status == Status.CANCELLED and "closed while this was in flight" in attempted.error
    assert not deliveries(app, status=Status.PLANNED, kind=Kind.CALL_TO_ACTION)


def test_a_call_to_action_that_may_have_gone_out_when_the_campaign_closed_is_unknown_for_a_person(
        make_app, campaigns_dir, clock):
    app, net = one_account(make_app, campaigns_dir, idempotent=True)
    clock.advance(timedelta(hours=1))
    close_during_publish(app, net)
    net.fail_next(OutcomeUnknown("read timeout"))
    Dispatcher(app).run_once()
    [attempted] = [d for d in deliveries(app, kind=Kind.CALL_TO_ACTION) if d.attempts]
    assert attempted.status == Status.UNKNOWN and "may or may not" in attempted.error


def test_a_crash_during_a_send_then_a_close_settles_the_post_by_reading_it_back_and_reopen_never_resends_it(
        make_app, campaigns_dir, clock):
    app, net = one_account(make_app, campaigns_dir, idempotent=True, lease_seconds=60)
    net.lookup_finds = True
    clock.advance(timedelta(hours=1))
    crashed = Dispatcher(app)
    claimed = crashed.claim_next("a1")
    net.deliver_silently(crashed.prepare(claimed))  # it went out; the worker died before recording it
    lifecycle.close(app, "test", "success", by="ana")
    clock.advance(timedelta(seconds=61))
    fresh = Dispatcher(bootstrap_like(app))
    fresh.run_once()
    [row] = deliveries(app, id=claimed.id)
    assert row.status == Status.SENT and row.remote_id == "a1-1"
    [closing] = deliveries(app, kind=Kind.CLOSING)
    assert closing.status == Status.SENT and closing.in_reply_to == row.remote_id  # under the post that really went out
    lifecycle.set_state(app, "test", "reopen", by="ana")
    plan(app)
    clock.advance(timedelta(days=1))
    plan(app)
    fresh.run_once()
    assert [p.post.delivery_id for p in net.posts].count(claimed.id) == 1


def test_a_crash_during_a_send_then_a_close_is_unknown_when_the_network_cannot_tell_never_planned(
        make_app, campaigns_dir, clock):
    app, net = one_account(make_app, campaigns_dir, idempotent=True, lease_seconds=60)
    clock.advance(timedelta(hours=1))
    crashed = Dispatcher(app)
    claimed = crashed.claim_next("a1")
    net.deliver_silently(crashed.prepare(claimed))
    lifecycle.close(app, "test", "success", by="ana")
    clock.advance(timedelta(seconds=61))
    fresh = Dispatcher(bootstrap_like(app))
    fresh.run_once()
    clock.advance(timedelta(minutes=10))
    fresh.run_once()
    [row] = deliveries(app, id=claimed.id)
    assert row.status == Status.UNKNOWN and "campaign closed" in row.error
    lifecycle.set_state(app, "test", "reopen", by="ana")
    plan(app)
    fresh.run_once()
    assert deliveries(app, id=claimed.id)[0].status == Status.UNKNOWN
    assert [p.post.delivery_id for p in net.posts].count(claimed.id) == 1


def test_the_closing_message_replies_under_the_last_published_post_whichever_its_kind(make_app, campaigns_dir,
                                                                                       clock):
    app, net = one_account(make_app, campaigns_dir, schedule=LATER)
    lifecycle.queue(app, "test", clock.now(), "A queued post", "ana")
    d = Dispatcher(app)
    d.run_once()
    [queued] = deliveries(app, kind="queued")
    assert queued.status == Status.SENT
    lifecycle.close(app, "test", "success", by="ana")
    d.run_once()
    [closing] = deliveries(app, kind=Kind.CLOSING)
    assert closing.status == Status.SENT and closing.in_reply_to == queued.remote_id
    assert net.posts[-1].post.in_reply_to.remote_id == queued.remote_id
