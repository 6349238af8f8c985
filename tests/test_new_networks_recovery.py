"""Crashes, restarts and lost answers on Threads, Telegram and Facebook, through the dispatcher and recovery with
the real database: never a second post; `unknown`, with the reason, only where the service cannot tell."""

from __future__ import annotations

from datetime import timedelta

from bot.networks.base import Post
from bot.outbox.record import set_account
from bot.states import ErrorKind, Status
from bot.store.models import AccountStateRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries
from tests.fake_facebook import V as FACEBOOK_V
from tests.fake_threads import V as THREADS_V
from tests.fakes import FakeNetwork
from tests.new_networks import EXAMPLE, OLD_NETWORKS, copy_example, fakes  # noqa: F401 - the fixture

__all__ = ["fakes"]
LATER = "2027-06-01T09:00:00"


def app_with(make_app, campaigns_dir, fakes):
    """The example campaign, its schedule far away: only what a test queues is due."""
    copy_example(campaigns_dir)
    path = campaigns_dir / f"{EXAMPLE}.toml"
    text = path.read_text(encoding="utf-8").replace('cron = "0 9,12,16 * * 1-5"', f"at = [{LATER}]")
    path.write_text(text.replace("jitter_minutes = 10\n", ""), encoding="utf-8")
    app = make_app(networks={a: FakeNetwork(a) for a in OLD_NETWORKS}, accounts=(), config_extra=fakes.config())
    plan(app)
    return app


def queue_one(app, account: str) -> None:
    lifecycle.queue(app, EXAMPLE, app.clock.now(), "Please act today: {{ ask }} {{ link }}", "tester",
                    account=account, language="en")


def crash_mid_send(app, account: str) -> Post:
    """A worker claims the post and publishes it, then dies before it can record anything."""
    dispatcher = Dispatcher(app)
    claimed = dispatcher.claim_next(account)
    assert claimed is not None
    post = dispatcher.prepare(claimed)
    app.network(account).publish(post)
    return post


def restart(make_app, fakes, clock):
    """A new process (its own adapters and account state read from the database), once the lease expired."""
    clock.advance(timedelta(minutes=10))
    app = make_app(networks={a: FakeNetwork(a) for a in OLD_NETWORKS}, accounts=(), config_extra=fakes.config())
    Dispatcher(app).run_once()
    return app


def test_threads_resumes_after_a_crash_between_publishing_and_recording_without_a_second_post(
        make_app, campaigns_dir, clock, fakes):
    app = app_with(make_app, campaigns_dir, fakes)
    queue_one(app, "org_threads")
    crash_mid_send(app, "org_threads")
    [published] = fakes.threads.posts()
    app = restart(make_app, fakes, clock)
    [delivery] = deliveries(app, account_id="org_threads", kind="queued")
    assert delivery.status == Status.SENT and delivery.remote_id == published["id"]
    assert delivery.remote_url == published["permalink"]
    assert len(fakes.threads.posts()) == 1 and fakes.threads.publish_calls == 1


def test_threads_publishes_the_kept_container_once_after_a_crash_before_publishing(
        make_app, campaigns_dir, clock, fakes):
    app = app_with(make_app, campaigns_dir, fakes)
    queue_one(app, "org_threads")
    fakes.threads.fail_next("POST", rf"{THREADS_V}/(me|\d+)/threads_publish", None)  # the worker dies there
    Dispatcher(app).run_once()  # the connection drops before Threads publishes: retried, safely
    [container] = fakes.threads.containers.values()
    assert container["status"] == "FINISHED" and fakes.threads.posts() == []
    app = restart(make_app, fakes, clock)
    [delivery] = deliveries(app, account_id="org_threads", kind="queued")
    assert delivery.status == Status.SENT and len(fakes.threads.containers) == 1  # no second container
    assert [m["id"] for m in fakes.threads.posts()] == [delivery.remote_id]


def test_threads_makes_a_new_container_when_the_kept_one_expired(make_app, campaigns_dir, clock, fakes):
    app = app_with(make_app, campaigns_dir, fakes)
    queue_one(app, "org_threads")
    fakes.threads.fail_next("POST", rf"{THREADS_V}/(me|\d+)/threads_publish", None)
    Dispatcher(app).run_once()
    real_now = fakes.threads.now
    fakes.threads.now = lambda: real_now() + timedelta(hours=25)  # Meta expires it after 24 h
    app = restart(make_app, fakes, clock)
    [delivery] = deliveries(app, account_id="org_threads", kind="queued")
    statuses = sorted(c["status"] for c in fakes.threads.containers.values())
    assert delivery.status == Status.SENT and statuses == ["EXPIRED", "PUBLISHED"]
    assert len(fakes.threads.posts()) == 1


def test_threads_over_its_daily_quota_holds_the_account_until_later(make_app, campaigns_dir, clock, fakes):
    app = app_with(make_app, campaigns_dir, fakes)
    fakes.threads.quota_total = 0
    queue_one(app, "org_threads")
    Dispatcher(app).run_once()
    [delivery] = deliveries(app, account_id="org_threads", kind="queued")
    assert delivery.status == Status.PLANNED and delivery.error_kind == ErrorKind.RATE_LIMITED
    assert "publishing quota used up" in (delivery.error or "")


def test_telegram_flags_a_lost_answer_unknown_with_the_reason_and_never_resends_it(
        make_app, campaigns_dir, clock, fakes):
    app = app_with(make_app, campaigns_dir, fakes)
    queue_one(app, "org_telegram")
    fakes.telegram.fail_next("POST", r"/bot[^/]+/sendMessage", None, went_through=True)
    Dispatcher(app).run_once()
    [delivery] = deliveries(app, account_id="org_telegram", kind="queued")
    assert delivery.status == Status.UNKNOWN
    assert "cannot read its channel back" in (delivery.error or "") and "campaign-bot resolve" in (delivery.error or "")
    clock.advance(timedelta(hours=1))
    Dispatcher(app).run_once()
    assert len(fakes.telegram.posted()) == 1


def test_telegram_after_a_crash_mid_send_is_unknown_for_a_person(make_app, campaigns_dir, clock, fakes):
    app = app_with(make_app, campaigns_dir, fakes)
    queue_one(app, "org_telegram")
    crash_mid_send(app, "org_telegram")
    app = restart(make_app, fakes, clock)
    [delivery] = deliveries(app, account_id="org_telegram", kind="queued")
    assert delivery.status == Status.UNKNOWN
    assert "send was interrupted" in (delivery.error or "") and "campaign-bot resolve" in (delivery.error or "")
    assert len(fakes.telegram.posted()) == 1


def test_telegram_disables_the_account_when_the_bot_is_not_a_member_and_honours_retry_after(
        make_app, campaigns_dir, clock, fakes):
    app = app_with(make_app, campaigns_dir, fakes)
    fakes.telegram.retry_after = 42
    queue_one(app, "org_telegram")
    Dispatcher(app).run_once()
    with app.sessions() as session:
        held = session.get(AccountStateRow, "org_telegram")
        assert held is not None and held.rate_limited_until is not None
    [delivery] = deliveries(app, account_id="org_telegram", kind="queued")
    assert delivery.status == Status.PLANNED and "retry after 42s" in (delivery.error or "")

    fakes.telegram.retry_after, fakes.telegram.member = None, False
    with app.engine.begin() as conn:  # the hold is over (it is in the service's time, not the test's clock)
        set_account(conn, "org_telegram", clock.now(), rate_limited_until=None)
    queue_one(app, "org_telegram")  # the first still waits for its retry_after
    Dispatcher(app).run_once()
    with app.sessions() as session:
        state = session.get(AccountStateRow, "org_telegram")
        assert state is not None and state.disabled
        assert "bot is not a member of the channel chat (@org_channel)" in (state.disabled_reason or "")
        assert "add the bot to the channel as an administrator" in (state.disabled_reason or "")
    assert fakes.telegram.posted() == []


def test_facebook_settles_a_lost_answer_by_reading_the_page_back(make_app, campaigns_dir, clock, fakes):
    app = app_with(make_app, campaigns_dir, fakes)
    queue_one(app, "org_facebook")
    fakes.facebook.fail_next("POST", rf"{FACEBOOK_V}/\d+/feed", None, went_through=True)
    Dispatcher(app).run_once()
    [delivery] = deliveries(app, account_id="org_facebook", kind="queued")
    [post] = fakes.facebook.posts.values()
    assert delivery.status == Status.SENT and delivery.remote_id == post["id"]


def test_facebook_after_a_crash_mid_send_is_found_on_the_page_and_not_posted_again(
        make_app, campaigns_dir, clock, fakes):
    app = app_with(make_app, campaigns_dir, fakes)
    queue_one(app, "org_facebook")
    crash_mid_send(app, "org_facebook")
    app = restart(make_app, fakes, clock)
    [delivery] = deliveries(app, account_id="org_facebook", kind="queued")
    [post] = fakes.facebook.posts.values()
    assert delivery.status == Status.SENT and delivery.remote_id == post["id"]


def test_facebook_retries_a_temporary_error_after_reading_back_and_never_posts_twice(
        make_app, campaigns_dir, clock, fakes):
    from tests.contract_harnesses import graph_error

    app = app_with(make_app, campaigns_dir, fakes)
    queue_one(app, "org_facebook")
    fakes.facebook.fail_next("POST", rf"{FACEBOOK_V}/\d+/feed", graph_error(
        "An unexpected error has occurred. Please retry your request later.", 2, 500, is_transient=True),
        went_through=True)  # Graph said "retry", but the post had gone through
    Dispatcher(app).run_once()
    [delivery] = deliveries(app, account_id="org_facebook", kind="queued")
    assert delivery.status == Status.PLANNED and delivery.error_kind == ErrorKind.TRANSIENT
    clock.advance(timedelta(hours=2))
    Dispatcher(app).run_once()
    [delivery] = deliveries(app, account_id="org_facebook", kind="queued")
    assert delivery.status == Status.SENT and len(fakes.facebook.posts) == 1
