"""What the Threads, Telegram and Facebook adapters do beyond the shared contract (tests/test_network_contract.py),
each against its local fake: containers still processing, deleted posts, refused tokens never quoted, checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.networks.base import AuthRevoked, Post, TransientError
from tests.contract_harnesses import FacebookHarness, TelegramHarness, ThreadsHarness
from tests.fake_facebook import FakeFacebook
from tests.fake_telegram import FakeTelegram
from tests.fake_threads import FakeThreads


def post(n: int, text: str) -> Post:
    return Post(delivery_id=n, idempotency_key=f"key-{n}", text=text, language="en",
                scheduled_at=datetime.now(UTC))


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadsHarness]:
    server = FakeThreads().start()
    try:
        yield ThreadsHarness(server, monkeypatch)
    finally:
        server.stop()


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramHarness]:
    server = FakeTelegram().start()
    try:
        yield TelegramHarness(server, monkeypatch)
    finally:
        server.stop()


@pytest.fixture
def facebook(monkeypatch: pytest.MonkeyPatch) -> Iterator[FacebookHarness]:
    server = FakeFacebook().start()
    try:
        yield FacebookHarness(server, monkeypatch)
    finally:
        server.stop()


def test_threads_waits_for_a_container_still_processing_and_publishes_it_once_it_is_ready(threads, monkeypatch):
    from bot.networks.threads import adapter

    monkeypatch.setattr(adapter, "TEXT_WAIT", 0.0)  # this attempt gives up at once
    threads.server.processing_reads = 30
    with pytest.raises(TransientError, match="still processing"):
        threads.network.publish(post(1, "Free them"))
    [container] = threads.server.containers.values()
    container.update(status="FINISHED")  # processed meanwhile
    published = threads.network.publish(post(1, "Free them"))
    assert len(threads.server.containers) == 1 and [m["id"] for m in threads.server.posts()] == [published.remote_id]


def test_threads_never_publishes_a_container_before_meta_has_processed_it(threads):
    """Meta answers "Media Not Found" (24/4279009) then: the fake must, or an adapter that skips the wait passes."""
    threads.server.processing_reads = 1
    threads.network.publish(post(1, "Free them"))
    refused = [r for r in threads.server.requests if r.path.endswith("threads_publish")]
    assert len(refused) == 1 and threads.server.publish_calls == 1


def test_threads_counts_leave_out_a_deleted_post_and_check_reports_the_quota(threads):
    kept = threads.network.publish(post(1, "Kept"))
    gone = threads.network.publish(post(2, "Gone"))
    threads.server.insights[kept.remote_id] = {"likes": 2, "replies": 1, "reposts": 0, "quotes": 0}
    del threads.server.media[gone.remote_id]
    counts = threads.network.counts([kept.remote_id, gone.remote_id])
    assert list(counts) == [kept.remote_id] and counts[kept.remote_id].likes == 2
    info = threads.network.check()
    assert info.handle == "@org_threads" and info.limits["posts_24h"] == "1/250"


def test_threads_without_the_mentions_permission_reads_no_mentions_and_still_counts(threads):
    threads.server.mentions_allowed = False
    published = threads.network.publish(post(1, "Free them"))
    threads.server.insights[published.remote_id] = {"likes": 5}
    assert threads.network.mentions(None).mentions == []
    assert threads.network.counts([published.remote_id])[published.remote_id].likes == 5


def test_facebook_counts_read_around_a_post_that_was_deleted(facebook):
    kept = facebook.network.publish(post(1, "Kept"))
    gone = facebook.network.publish(post(2, "Gone"))
    facebook.server.posts[kept.remote_id].update(reactions=4, shares=2)
    del facebook.server.posts[gone.remote_id]
    counts = facebook.network.counts([kept.remote_id, gone.remote_id])
    assert {k: (v.likes, v.reposts) for k, v in counts.items()} == {kept.remote_id: (4, 2)}


@pytest.mark.parametrize("kind", ["threads", "telegram", "facebook"])
def test_a_refused_token_disables_the_account_and_is_never_quoted(request, kind):
    harness = request.getfixturevalue(kind)
    token = harness.server.token
    harness.server.token = "the-right-one-is-now-another"
    with pytest.raises(AuthRevoked) as refused:
        harness.network.publish(post(1, "Free them"))
    assert token not in str(refused.value) and token.split(":")[-1] not in str(refused.value)
    assert harness.server.token not in str(refused.value)


def test_telegram_check_says_whether_the_bot_may_post_in_the_channel(telegram):
    info = telegram.network.check()
    assert info.handle == "@org_bot" and info.url == "https://t.me/org_channel"
    assert info.limits["bot_may_post"] == "yes" and info.limits["channel"] == "Org channel"


@pytest.mark.parametrize("kind", ["telegram", "facebook"])
def test_an_image_that_cannot_be_read_fails_the_post_for_good_before_anything_is_sent(request, kind, tmp_path):
    from pathlib import Path

    from bot.networks.base import Media, PermanentError

    harness = request.getfixturevalue(kind)
    missing = Post(delivery_id=1, idempotency_key="key-1", text="Look", language="en",
                   media=(Media(Path(tmp_path / "gone.png"), "A poster"),))
    with pytest.raises(PermanentError, match="cannot read image gone.png"):
        harness.network.publish(missing)
    assert harness.server.requests == []


def test_the_bot_token_never_reaches_the_log_even_with_verbose(telegram, tmp_path, monkeypatch, caplog):
    """httpx logs each request's URL at INFO, and a Telegram bot's URL holds its token (python-telegram-bot's
    own lines quoting it are DEBUG, below what --verbose shows of libraries)."""
    import logging

    from click.testing import CliRunner

    from bot.cli import cli

    config = tmp_path / "config.toml"
    config.write_text(f'[accounts.org_telegram]\nnetwork = "telegram"\nchannel = "@{telegram.server.channel}"\n'
                      f'bot_token_env = "TEST_TELEGRAM_TOKEN"\napi_base_url = "{telegram.server.url}"\n',
                      encoding="utf-8")
    caplog.set_level(logging.INFO)  # what --verbose sets for the libraries (ours log DEBUG: bot.*)
    result = CliRunner().invoke(cli, ["-v", "accounts", "check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    logged = "\n".join(r.getMessage() for r in caplog.records) + result.output
    assert telegram.server.token not in logged and telegram.server.token.split(":")[1] not in logged
