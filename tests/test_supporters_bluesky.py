"""Supporters' reposts on Bluesky, against our fake PDS (tests/fake_networks.py), which answers as @atproto/pds
does: a record at a taken rkey is a 500; a repost of the same subject replaces the old one (a "backlink
conflict"); deleting what is not there is a no-op; a revoked session and app password is a 401."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import App
from bot.networks.base import AuthRevoked, Post, TransientError
from bot.networks.bluesky.keys import repost_rkey
from bot.supporters import service
from bot.supporters.crypto import new_key, require_cipher
from bot.supporters.waves import tick
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign
from tests.fake_networks import FakeBluesky

LATER = '[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]'
SUBJECT = "at://did:plc:org123/app.bsky.feed.post/3lbq6zpc3ky2a"
PASSWORD = "fan-app-password-SECRET"


@pytest.fixture
def fan() -> Iterator[FakeBluesky]:
    server = FakeBluesky(handle="fan.bsky.social", password=PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def org_pds(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBluesky]:
    server = FakeBluesky().start()
    monkeypatch.setenv("ORG_BSKY_PASSWORD", server.password)
    yield server
    server.stop()


def supporter_app(make_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch, fan: FakeBluesky,
                  config_extra: str = "", accounts: tuple[str, ...] = ("a1",)) -> tuple[App, str]:
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", new_key())
    app = make_app(networks={}, accounts=accounts, config_extra=config_extra + '[amplify]\nwindow = "0s"\n')
    with app.sessions.begin() as s:
        done = service.connect(s, require_cipher(), app.clock.now(), network="bluesky", name="fan",
                               handle=fan.handle, instance="127.0.0.1", api_base_url=fan.url,
                               credentials={"app_password": PASSWORD}, actor="test")
    return app, done.supporter.account_id


def boost(n: int, attempt: int = 1, subject: str = SUBJECT) -> Post:
    return Post(delivery_id=n, idempotency_key=f"campaign-bot-{n}", text=f"{subject} bafyreiorgcid", language="en",
                scheduled_at=datetime(2026, 11, 30, 14, tzinfo=UTC), attempt=attempt)


def test_a_repost_uses_the_posts_own_rkey_and_a_retry_makes_no_second_one(make_app, monkeypatch, fan):
    app, account = supporter_app(make_app, monkeypatch, fan)
    net = app.network(account)
    first = net.boost(boost(1))
    assert list(fan.reposts) == [repost_rkey(SUBJECT)] == ["3lbq6zpc3ky2a"]
    subject = fan.reposts["3lbq6zpc3ky2a"]["value"]["subject"]
    assert (subject["uri"], subject["cid"]) == (SUBJECT, "bafyreiorgcid")
    again = net.boost(boost(1, attempt=2))  # after an unknown outcome: read back, nothing created
    assert again.remote_id == first.remote_id and again.ref == first.ref and len(fan.reposts) == 1
    net.boost(boost(1))  # a blind retry: the PDS replaces the repost of the same subject
    assert len(fan.reposts) == 1


def test_a_taken_rkey_answers_500_and_is_not_mistaken_for_our_repost(make_app, monkeypatch, fan):
    app, account = supporter_app(make_app, monkeypatch, fan)
    other = "at://did:plc:someone/app.bsky.feed.post/3lbq6zpc3ky2a"
    fan.reposts["3lbq6zpc3ky2a"] = {"uri": "at://x", "cid": "c", "value": {"subject": {"uri": other, "cid": "c"}}}
    with pytest.raises(TransientError, match="server error"):
        app.network(account).boost(boost(1))
    assert fan.reposts["3lbq6zpc3ky2a"]["value"]["subject"]["uri"] == other


def test_an_unboost_deletes_the_repost_and_deleting_twice_is_harmless(make_app, monkeypatch, fan):
    app, account = supporter_app(make_app, monkeypatch, fan)
    net = app.network(account)
    net.boost(boost(1))
    net.unboost(boost(2))
    net.unboost(boost(3))
    assert fan.reposts == {}


def test_a_revoked_app_password_is_auth_revoked(make_app, monkeypatch, fan):
    app, account = supporter_app(make_app, monkeypatch, fan)
    net = app.network(account)
    net.boost(boost(1))
    fan.password = "changed"
    fan.valid_refresh.clear()
    fan.revoke_access_tokens()
    with pytest.raises(AuthRevoked):
        net.boost(boost(2, subject="at://did:plc:org123/app.bsky.feed.post/3lbq6zpc3ky2b"))


def test_a_bluesky_supporter_reposts_the_organisations_post_through_the_outbox(make_app, monkeypatch, fan, org_pds,
                                                                              campaigns_dir: Path, clock):
    write_campaign(campaigns_dir, accounts='accounts = ["orgb"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    app, account = supporter_app(make_app, monkeypatch, fan, accounts=(), config_extra=(
        f'[accounts.orgb]\nnetwork = "bluesky"\nhandle = "{org_pds.handle}"\n'
        f'app_password_env = "ORG_BSKY_PASSWORD"\nservice_url = "{org_pds.url}"\n'))
    plan(app)
    lifecycle.queue(app, "test", clock.now(), "Free them now {{ link }}", "tester")
    Dispatcher(app).run_once()
    [org_post] = org_pds.records.values()
    assert tick(app).planned == 1
    Dispatcher(app).run_once()
    [repost] = fan.reposts.values()
    subject = repost["value"]["subject"]
    assert (subject["uri"], subject["cid"]) == (org_post["uri"], org_post["cid"])
    [row] = deliveries(app, account_id=account)
    assert row.status == "sent" and row.action == "boost" and row.text == f"{org_post['uri']} {org_post['cid']}"


def test_a_supporters_bluesky_session_is_stored_encrypted(make_app, monkeypatch, fan, database_url, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("reads the SQLite file")
    app, account = supporter_app(make_app, monkeypatch, fan)
    app.network(account).boost(boost(1))
    app.engine.dispose()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("bot.db*"))
    tokens = fan.valid_access | fan.valid_refresh
    assert tokens and not [t for t in tokens if t.encode() in raw]
    assert PASSWORD.encode() not in raw
    restarted = make_app(networks={}, accounts=("a1",))  # a new process: reads the session back, decrypted
    restarted.network(account).boost(boost(2, subject="at://did:plc:org123/app.bsky.feed.post/3lbq6zpc3ky2b"))
    assert fan.logins == 1
