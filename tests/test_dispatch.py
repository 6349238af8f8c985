from datetime import timedelta

from bot.networks.base import AuthRevoked, OutcomeUnknown, PermanentError, RateLimited, TransientError
from bot.states import Status
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork

LATER = '[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]'


def one_post_app(make_app, campaigns_dir, clock, *, idempotent=True, **bot):
    """One account, one language, one post queued for now."""
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    net = FakeNetwork("a1", idempotent=idempotent)
    app = make_app(networks={"a1": net}, accounts=("a1",), **bot)
    plan(app)
    lifecycle.queue(app, "test", clock.now(), "Free them now {{ link }}", "tester")
    return app, net


def test_a_due_post_is_sent_once_and_recorded(make_app, campaigns_dir, clock):
    app, net = one_post_app(make_app, campaigns_dir, clock)
    d = Dispatcher(app)
    assert d.run_once() == 1
    assert d.run_once() == 0
    assert net.texts == ["Free them now https://example.org/ua"]
    [row] = deliveries(app, kind="queued")
    assert (row.status, row.remote_id, row.attempts) == (Status.SENT, "a1-1", 1)
    assert row.sent_at == clock.now() and row.remote_url.endswith("/a1-1")


def test_a_crash_between_claim_and_record_resends_once_on_an_idempotent_network(make_app, campaigns_dir, clock):
    app, net = one_post_app(make_app, campaigns_dir, clock, idempotent=True, lease_seconds=60)
    crashed = Dispatcher(app)
    claimed = crashed.claim_next("a1")
    post = crashed.prepare(claimed)
    net.deliver_silently(post)  # it went out, then the worker died before recording
    clock.advance(timedelta(seconds=30))
    fresh = Dispatcher(bootstrap_like(app))
    assert fresh.run_once() == 0  # the lease still holds: nobody touches it
    clock.advance(timedelta(seconds=31))
    assert fresh.run_once() == 1
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.SENT and row.attempts == 2
    assert len(net.posts) == 1  # the retry carried the same idempotency key: no duplicate


def test_a_crash_between_claim_and_record_is_flagged_unknown_without_idempotency(make_app, campaigns_dir, clock):
    app, net = one_post_app(make_app, campaigns_dir, clock, idempotent=False, lease_seconds=60)
    crashed = Dispatcher(app)
    net.deliver_silently(crashed.prepare(crashed.claim_next("a1")))
    clock.advance(timedelta(seconds=61))
    fresh = Dispatcher(bootstrap_like(app))
    fresh.run_once()
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.UNKNOWN and "may or may not exist" in row.error
    assert len(net.posts) == 1 and net.calls == 0  # never retried blindly


def test_an_unknown_outcome_is_settled_by_reading_the_account_when_the_network_allows(make_app, campaigns_dir,
                                                                                      clock):
    app, net = one_post_app(make_app, campaigns_dir, clock, idempotent=False)
    net.lookup_finds = True
    d = Dispatcher(app)
    claimed = d.claim_next("a1")
    post = d.prepare(claimed)
    net.deliver_silently(post)
    net.fail_next(OutcomeUnknown("read timeout"))
    assert d.send(claimed, post) == Status.SENT
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.SENT and row.remote_id == "a1-1"


def test_outcome_unknown_without_a_way_to_check_is_flagged_for_a_person(make_app, campaigns_dir, clock):
    app, net = one_post_app(make_app, campaigns_dir, clock, idempotent=False)
    net.fail_next(OutcomeUnknown("connection dropped after the request was sent"))
    Dispatcher(app).run_once()
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.UNKNOWN and "connection dropped" in row.error
    Dispatcher(app).run_once()
    assert net.calls == 1


def test_transient_errors_back_off_then_fail_with_the_last_error(make_app, campaigns_dir, clock):
    app, net = one_post_app(make_app, campaigns_dir, clock, max_attempts=3)
    net.fail_next(TransientError("502 Bad Gateway"), TransientError("503"), TransientError("504 Gateway Timeout"))
    d = Dispatcher(app)
    d.run_once()
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.PLANNED and row.not_before > clock.now() and row.error == "502 Bad Gateway"
    for _ in range(5):
        clock.advance(timedelta(hours=1))
        d.run_once()
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.FAILED and "504 Gateway Timeout" in row.error and row.attempts == 3
    assert net.calls == 3


def test_a_rate_limit_defers_until_the_reset_and_does_not_count_as_an_attempt(make_app, campaigns_dir, clock):
    app, net = one_post_app(make_app, campaigns_dir, clock, max_attempts=1)
    reset = clock.now() + timedelta(minutes=15)
    net.fail_next(RateLimited("429", reset))
    d = Dispatcher(app)
    d.run_once()
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.PLANNED and row.not_before == reset and row.attempts == 0
    clock.advance(timedelta(minutes=14))
    d.run_once()
    assert net.calls == 1
    clock.advance(timedelta(minutes=2))
    d.run_once()
    assert deliveries(app, kind="queued")[0].status == Status.SENT


def test_a_permanent_error_fails_at_once(make_app, campaigns_dir, clock):
    app, net = one_post_app(make_app, campaigns_dir, clock)
    net.fail_next(PermanentError("422 Validation failed: Text character limit of 500 exceeded"))
    Dispatcher(app).run_once()
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.FAILED and "character limit" in row.error and net.calls == 1


def test_revoked_credentials_disable_that_account_and_the_others_go_on(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, languages='languages = ["en"]', ask='ask = "Act"', schedule=LATER)
    a1, a2 = FakeNetwork("a1"), FakeNetwork("a2")
    app = make_app(networks={"a1": a1, "a2": a2})
    plan(app)
    lifecycle.queue(app, "test", clock.now(), "one", "t")
    lifecycle.queue(app, "test", clock.now(), "two", "t")
    a1.fail_next(AuthRevoked("401 The access token was revoked"))
    Dispatcher(app).run_once()
    assert a2.texts == ["one", "two"]
    assert a1.texts == [] and a1.calls == 1
    held = deliveries(app, account_id="a1", kind="queued")
    assert all(d.status == Status.PLANNED for d in held) and "revoked" in held[0].error
    from bot.queries.reports import status

    assert status(app)["accounts"][0]["account"] == "a1" and status(app)["accounts"][0]["disabled"]


def test_posts_missed_while_down_are_sent_within_the_grace_window_and_marked_missed_after(
        make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, extra="grace_minutes = 60")
    app = make_app(horizon_days=1)
    plan(app)
    # Down from 08:00 to 09:30 in Lima: the 09:00 posts are 30 minutes late, still inside the grace.
    clock.advance(timedelta(hours=1, minutes=30))
    Dispatcher(app).run_once()
    assert len(deliveries(app, status=Status.SENT)) == 4
    # Down from 09:30 until 17:00: the 15:00 posts are two hours late: missed, not a burst of stale posts.
    clock.advance(timedelta(hours=7, minutes=30))
    Dispatcher(app).run_once()
    missed = deliveries(app, status=Status.MISSED)
    assert len(missed) == 4 and all("past the campaign's grace window" in d.error for d in missed)
    assert len(deliveries(app, status=Status.SENT)) == 4


def test_a_text_over_the_accounts_limit_is_failed_before_sending(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]', ask='ask = "Act"')
    net = FakeNetwork("a1", max_length=10)
    app = make_app(networks={"a1": net}, accounts=("a1",))
    plan(app)
    lifecycle.queue(app, "test", clock.now(), "far more than ten characters", "t")
    Dispatcher(app).run_once()
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.FAILED and "limit of 10" in row.error and net.calls == 0


def bootstrap_like(app):
    """A second worker on the same database (a restarted daemon): new owner id, same networks."""
    from bot.bootstrap import bootstrap

    return bootstrap(app.config, clock=app.clock, networks=app.network_overrides, engine=app.engine)


def test_the_wake_up_time_ignores_posts_already_due_so_a_held_account_cannot_spin_the_daemon(
        make_app, campaigns_dir, clock):
    app, net = one_post_app(make_app, campaigns_dir, clock)
    net.fail_next(AuthRevoked("401"))
    d = Dispatcher(app)
    d.run_once()  # the account is disabled; its post stays planned and due
    assert d.next_due_at() is None  # the held post is due already: not a reason to wake
    later = clock.now() + timedelta(minutes=5)
    lifecycle.queue(app, "test", later, "later", "t")
    assert d.next_due_at() == later


def test_a_post_edited_after_its_batch_was_read_goes_out_as_edited_and_not_before_its_new_time(
        make_app, campaigns_dir, clock):
    """The batch is read once; a person edits (`campaign-bot edit`) two of its posts while the first is being
    published. The claim reads the row again: the edited text goes out, the post moved later waits."""
    app, net = one_post_app(make_app, campaigns_dir, clock)
    for text in ("Second {{ link }}", "Third {{ link }}"):
        lifecycle.queue(app, "test", clock.now(), text, "tester")
    first, second, third = deliveries(app, kind="queued")
    later = clock.now() + timedelta(hours=1)

    def edit_the_others(post):
        if post.delivery_id == first.id:
            lifecycle.edit_delivery(app, second.id, "ana", text="Second, corrected {{ link }}")
            lifecycle.edit_delivery(app, third.id, "ana", at=later)

    net.on_publish = edit_the_others
    assert Dispatcher(app).run_once() == 2
    assert net.texts == ["Free them now https://example.org/ua", "Second, corrected https://example.org/ua"]
    row = deliveries(app, id=third.id)[0]
    assert (row.status, row.attempts, row.due_at) == (Status.PLANNED, 0, later)
    clock.advance(timedelta(hours=1))
    assert Dispatcher(app).run_once() == 1
    assert net.texts[-1] == "Third https://example.org/ua"
    assert [p.post.scheduled_at for p in net.posts] == [clock.now() - timedelta(hours=1)] * 2 + [later]
