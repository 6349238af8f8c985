"""429 storms, bursts of 5xx, timeouts and a token revoked mid-run, through the real adapters against local
fakes: every delivery ends sent, or reported with its reason; nothing is posted twice."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.bootstrap import bootstrap
from bot.clock import FakeClock
from bot.config.settings import load_config
from bot.queries.reports import status
from bot.states import Status
from bot.store.models import DeliveryRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.fake_networks import FakeBluesky, FakeMastodon, FakeX
from tests.httpfake import Response
from tests.test_faults import LIFTED, mastodon_account, set_env, world


@pytest.fixture
def servers():
    started = FakeMastodon().start(), FakeX().start(), FakeBluesky().start()
    yield started
    for s in started:
        s.stop()


def test_storms_bursts_timeouts_and_a_revoked_token_end_sent_or_reported(tmp_path, servers, database_url,
                                                                        monkeypatch):
    mastodon, x, bluesky = servers
    env = {"TOKEN_M": "token-m", "X_KEY": "k", "X_SECRET": "s", "X_TOKEN": "t", "X_TOKEN_SECRET": "ts",
           "BSKY_PASSWORD": bluesky.password}
    set_env(monkeypatch, env)
    cfg = world(tmp_path, database_url, {
        # Mastodon's timeouts below are answers held until the client gave up (after 3 s): no race with a timer.
        "m": mastodon_account("m", mastodon).replace('mastodon_version', 'request_timeout = 3\nmastodon_version'),
        "x": ('[accounts.x]\nnetwork = "x"\nconsumer_key_env = "X_KEY"\nconsumer_secret_env = "X_SECRET"\n'
              'access_token_env = "X_TOKEN"\naccess_token_secret_env = "X_TOKEN_SECRET"\ntier = "free"\n'
              f'request_timeout = 30\n{LIFTED}'),
        "b": (f'[accounts.b]\nnetwork = "bluesky"\nhandle = "{bluesky.handle}"\napp_password_env = "BSKY_PASSWORD"\n'
              f'service_url = "{bluesky.url}"\nrequest_timeout = 30\n{LIFTED}'),
    }, max_attempts=4, retry_base_seconds=30, retry_max_seconds=600)
    clock = FakeClock(datetime.now(UTC))  # servers send real reset times
    app = bootstrap(load_config(cfg), clock=clock)
    for net in ("x",):
        x.mount(app.network(net))
    plan(app)
    for n in range(20):
        lifecycle.queue(app, "fault", clock.now(), f"Storm {n}", "test")

    reset = str(int(datetime.now(UTC).timestamp()) + 600)
    mastodon.fail_next("POST", "/api/v1/statuses", Response(429, {"error": "Too many requests"}, {
        "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}), count=3)
    mastodon.fail_next("POST", "/api/v1/statuses", Response(503, {"error": "unavailable"}), count=4)
    mastodon.fail_next("POST", "/api/v1/statuses", None, went_through=True, count=2,
                       hold=threading.Event())  # timeouts: the fixture's stop() releases them
    x.fail_next("POST", "/2/tweets", Response(503, {"title": "Service Unavailable"}), count=3)
    x.fail_next("POST", "/2/tweets", None, went_through=True, count=2)  # dropped after X created the post
    x.fail_next("POST", "/2/tweets", Response(500, {"title": "Internal Error"}), count=5)  # a 5xx burst
    bluesky.fail_next("POST", "/xrpc/com.atproto.repo.createRecord", Response(502, {"error": "BadGateway"}),
                      count=3)
    dispatcher = Dispatcher(app)
    for step in range(40):
        dispatcher.run_once()
        if step == 5:  # the Bluesky app password is revoked mid-run, and more posts come due after it
            bluesky.password = "revoked"
            bluesky.revoke_access_tokens()
            bluesky.valid_refresh.clear()
            for n in range(20, 25):
                lifecycle.queue(app, "fault", clock.now(), f"Storm {n}", "test", account="b")
        clock.advance(timedelta(minutes=15))

    with app.sessions() as s:
        rows = {a: list(s.scalars(select(DeliveryRow).where(DeliveryRow.account_id == a,
                                                            DeliveryRow.kind == "queued")))
                for a in ("m", "x", "b")}
    # Mastodon rode out the 429s, 503s and timeouts: all sent, once each (Idempotency-Key).
    assert {r.status for r in rows["m"]} == {Status.SENT}
    assert Counter(st["content"] for st in mastodon.statuses) == Counter(f"Storm {n}" for n in range(20))
    # X: the dropped answers are unknown (free tier cannot read to settle them); so are 500s (X may have
    # created those); nothing is ever posted twice; everything else was sent.
    x_status = Counter(r.status for r in rows["x"])
    assert set(x_status) <= {Status.SENT, Status.UNKNOWN, Status.FAILED}
    assert x_status[Status.UNKNOWN] == 7 and x_status[Status.SENT] == 13
    assert all(r.error for r in rows["x"] if r.status != Status.SENT)
    assert all(c == 1 for c in Counter(t["text"] for t in x.tweets).values())
    # Bluesky: sent until the password was revoked; then the account is disabled and its posts wait, reported.
    b_status = Counter(r.status for r in rows["b"])
    assert b_status == Counter({Status.SENT: 20, Status.PLANNED: 5})
    held = [r for r in rows["b"] if r.status == Status.PLANNED]
    assert any("account disabled" in (r.error or "") for r in held)  # the rest simply wait for the account
    report = status(app)
    [disabled] = [a for a in report["accounts"] if a["disabled"]]
    assert disabled["account"] == "b" and "app password" in disabled["reason"]
    assert {d["account"] for d in report["needs_attention"]} <= {"x"}
    app.engine.dispose()
