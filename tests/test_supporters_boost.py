"""Supporters' boosts against mastodon-mock (the reference Mastodon): once per organisation post, never twice
across a restart, stopped by a disconnect, and a 401 disconnects. The database and the logs never hold a token.

The organisation posts as alice, supporters boost as bob and carol, all on one mock instance."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from bot.bootstrap import App
from bot.clock import FakeClock
from bot.outbox.amplify import plan_unboosts, plan_wave, unplanned_posts
from bot.store.models import DeliveryRow
from bot.store.supporters import SupporterRow
from bot.supporters import service
from bot.supporters.crypto import new_key, require_cipher
from bot.supporters.waves import Tick, tick
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign

LATER = '[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]'
TIMEOUT = 30
KEY = new_key()


@pytest.fixture(scope="module")
def mastodon_server() -> Iterator[Any]:
    from mastodon_mock.testing.server import MockServer

    with MockServer() as server:
        yield server


@pytest.fixture
def mock(mastodon_server: Any) -> Any:
    httpx.post(f"{mastodon_server.base_url}/api/v1/_mock/reset", timeout=TIMEOUT).raise_for_status()
    httpx.delete(f"{mastodon_server.base_url}/api/v1/_mock/faults", timeout=TIMEOUT)
    return mastodon_server


def boost_app(make_app: Callable[..., App], campaigns_dir: Path, monkeypatch: pytest.MonkeyPatch, server: Any,
              window: str = "0s", amplify_extra: str = "", **bot: Any) -> App:
    write_campaign(campaigns_dir, accounts='accounts = ["org"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    monkeypatch.setenv("ORG_TOKEN", "alice_token")
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", KEY)
    app = make_app(networks={}, accounts=(), config_extra=(
        f'[accounts.org]\nnetwork = "mastodon"\napi_base_url = "{server.base_url}"\naccess_token_env = "ORG_TOKEN"\n'
        f'[amplify]\nwindow = "{window}"\n{amplify_extra}'), **bot)
    plan(app)
    return app


def connect(app: App, server: Any, username: str, **kw: Any) -> service.Connected:
    with app.sessions.begin() as s:
        return service.connect(s, require_cipher(), app.clock.now(), network="mastodon", name=username,
                               credentials={"access_token": f"{username}_token"}, instance="mock.local",
                               api_base_url=server.base_url, handle=f"{username}@mock.local", actor="test", **kw)


def org_posts(app: App, clock: FakeClock, text: str = "Free them now {{ link }}") -> DeliveryRow:
    lifecycle.queue(app, "test", clock.now(), text, "tester")
    Dispatcher(app).run_once()
    sent = [d for d in deliveries(app, account_id="org") if d.status == "sent"]
    return sent[-1]


def boosters(server: Any, status_id: str) -> list[str]:
    answer = httpx.get(f"{server.base_url}/api/v1/statuses/{status_id}/reblogged_by", timeout=TIMEOUT,
                       headers={"Authorization": "Bearer alice_token"})
    answer.raise_for_status()
    return sorted(a["username"] for a in answer.json())


def boosts(app: App) -> list[DeliveryRow]:
    return [d for d in deliveries(app) if d.action == "boost"]


def test_a_supporter_boosts_each_organisation_post_once(make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    connect(app, mock, "bob")
    first = org_posts(app, clock)
    assert tick(app).planned == 1
    assert tick(app).planned == 0  # a wave is planned once
    assert Dispatcher(app).run_once() == 1
    assert Dispatcher(app).run_once() == 0
    assert boosters(mock, first.remote_id) == ["bob"]
    second = org_posts(app, clock, "Second call {{ link }}")
    assert tick(app).planned == 1
    Dispatcher(app).run_once()
    assert boosters(mock, second.remote_id) == ["bob"]
    assert [(b.status, b.text, b.kind) for b in boosts(app)] == [
        ("sent", first.remote_url, "queued"), ("sent", second.remote_url, "queued")]


def statements(app: App) -> list[str]:
    """Every statement the app sends from now on (observed at the engine)."""
    seen: list[str] = []
    event.listen(app.engine, "before_cursor_execute", lambda _c, _cur, sql, *_rest: seen.append(sql))
    return seen


def test_a_waves_supporters_are_read_with_the_wave_and_need_no_query_of_their_own_to_boost(
        make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    ids = [connect(app, mock, name).supporter.account_id for name in ("bob", "carol")]
    post = org_posts(app, clock)
    assert tick(app).planned == 2
    seen = statements(app)
    for account_id in ids:
        assert app.accounts.settings(account_id) is not None
        assert app.accounts.secrets(account_id).read("access_token").endswith("_token")
    assert seen == []  # read in one query with the wave, not one each as they send
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == ["bob", "carol"]


def test_each_connected_supporter_is_read_once_not_at_every_tick_nor_again_with_a_wave(
        make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock, window="30m")
    bob = connect(app, mock, "bob").supporter.account_id
    assert tick(app).read == 1  # before any wave
    assert app.accounts.known(bob)
    org_posts(app, clock)
    assert tick(app) == Tick(planned=1, disconnected=0, read=0)  # the wave's supporter was read already
    carol = connect(app, mock, "carol").supporter.account_id
    assert tick(app).read == 1 and app.accounts.known(carol)  # only who connected since
    assert tick(app).read == 0
    restarted = boost_app(make_app, campaigns_dir, monkeypatch, mock, window="30m")
    assert not restarted.accounts.known(bob)
    assert tick(restarted).read == 2  # a new process reads every connected supporter at its first tick
    assert restarted.accounts.known(bob)
    clock.advance(timedelta(minutes=31))
    Dispatcher(restarted).run_once()
    assert [b.status for b in boosts(restarted)] == ["sent"]


def test_only_supporters_who_chose_the_campaign_boost_it(make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    connect(app, mock, "bob", campaigns=["another-campaign"])
    connect(app, mock, "carol", campaigns=["test"])
    post = org_posts(app, clock)
    tick(app)
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == ["carol"]


def test_boosts_are_spread_over_the_window(make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock, window="30m")
    for name in ("bob", "carol"):
        connect(app, mock, name)
    post = org_posts(app, clock)
    tick(app)
    dues = [b.due_at for b in boosts(app)]
    assert len(dues) == 2 and all(clock.now() <= d <= clock.now() + timedelta(minutes=30) for d in dues)
    clock.advance(timedelta(minutes=31))
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == ["bob", "carol"]


def test_a_restart_mid_wave_plans_and_boosts_nothing_twice(make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock, lease_seconds=60)
    connect(app, mock, "bob")
    connect(app, mock, "carol")
    post = org_posts(app, clock)
    with app.engine.connect() as conn:  # a planner killed mid-wave: its transaction never commits
        [pending] = unplanned_posts(conn, clock.now())
        assert plan_wave(conn, pending, clock.now(), 0) == 2
        conn.rollback()
    assert boosts(app) == []
    assert tick(app).planned == 2
    with app.engine.begin() as conn:  # a second planner racing the first finds the wave taken
        assert plan_wave(conn, pending, clock.now(), 0) is None
    crashed = Dispatcher(app)
    claimed = crashed.claim_next(boosts(app)[0].account_id)
    assert claimed is not None
    app.network(claimed.account_id).boost(crashed.prepare(claimed))  # it went out; the worker died
    clock.advance(timedelta(seconds=61))
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == ["bob", "carol"]
    # the boost that went out before the crash is found among the reblogs: recorded, not sent again
    assert sorted((b.status, b.attempts) for b in boosts(app)) == [("sent", 1), ("sent", 1)]


def test_disconnecting_stops_the_boosts_at_once(make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock, window="30m")
    bob = connect(app, mock, "bob")
    post = org_posts(app, clock)
    tick(app)
    with app.sessions.begin() as s:
        service.disconnect(s, bob.supporter.id, clock.now(), "asked to", actor="bob")
    clock.advance(timedelta(minutes=31))
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == []
    [boost] = boosts(app)
    assert boost.status == "cancelled"
    org_posts(app, clock, "Another {{ link }}")
    assert tick(app).planned == 0


def test_a_revoked_token_disconnects_the_supporter(make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    bob = connect(app, mock, "bob")
    connect(app, mock, "carol")
    httpx.post(f"{mock.base_url}/oauth/revoke", data={"token": "bob_token"}, timeout=TIMEOUT).raise_for_status()
    post = org_posts(app, clock)
    tick(app)
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == ["carol"]
    assert tick(app).disconnected == 1
    with app.sessions() as s:
        row = s.get(SupporterRow, bob.supporter.id)
        assert row is not None and row.state == "disconnected" and row.credentials is None
        assert "refused" in (row.disconnect_reason or "")
    org_posts(app, clock, "Another {{ link }}")
    assert tick(app).planned == 1  # carol only


def test_a_supporter_can_undo_their_boosts(make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    bob = connect(app, mock, "bob")
    post = org_posts(app, clock)
    tick(app)
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == ["bob"]
    with app.engine.begin() as conn:
        assert plan_unboosts(conn, bob.supporter.account_id, clock.now()) == 1
        assert plan_unboosts(conn, bob.supporter.account_id, clock.now()) == 0
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == []


def test_the_database_and_the_logs_hold_no_token_in_clear(make_app, campaigns_dir, monkeypatch, mock, clock,
                                                         database_url, tmp_path, caplog):
    if not database_url.startswith("sqlite"):
        pytest.skip("reads the SQLite file")
    caplog.set_level(logging.DEBUG)
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    connect(app, mock, "bob")
    httpx.post(f"{mock.base_url}/oauth/revoke", data={"token": "carol_token"}, timeout=TIMEOUT)
    connect(app, mock, "carol")
    org_posts(app, clock)
    tick(app)
    Dispatcher(app).run_once()
    tick(app)
    app.engine.dispose()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("bot.db*"))
    logs = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for token in ("bob_token", "carol_token", KEY):
        assert token.encode() not in raw
        assert token not in logs
    assert "disconnected" in logs


def test_staff_see_the_supporters_and_the_boosts_each_post_received(make_app, campaigns_dir, monkeypatch, mock,
                                                                    clock):
    from argon2 import PasswordHasher

    from bot.actions import people
    from bot.supporters.report import campaign_supporters
    from bot.web.app import create_app
    from tests.web_fixtures import PASSWORD, Web, add_user

    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    connect(app, mock, "bob")
    carol = connect(app, mock, "carol")
    post = org_posts(app, clock)
    tick(app)
    Dispatcher(app).run_once()
    with app.sessions.begin() as s:
        service.disconnect(s, carol.supporter.id, clock.now(), "asked to", actor="carol")
    with app.sessions() as s:
        seen = campaign_supporters(s, "test")
    assert seen.counts == {("mastodon", "connected"): 1, ("mastodon", "disconnected"): 1}
    [boosted] = seen.posts
    assert (boosted.delivery_id, boosted.sent, boosted.total) == (post.id, 2, 2)

    monkeypatch.setattr(people, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    add_user(app, "staff", "staff", PASSWORD)
    page = Web(app, create_app(app, secret_key="x" * 40)).client("staff").get("/campaigns/test").text
    assert "Supporters" in page and "2 of 2" in page
    # Boosts are not in the timeline (one row per supporter would drown it): no row names a supporter's account.
    assert "supporter:" not in page


def test_on_close_supporters_boost_the_closing_message_and_planned_boosts_of_calls_to_action_stop(
        make_app, campaigns_dir, monkeypatch, mock, clock):
    app = boost_app(make_app, campaigns_dir, monkeypatch, mock, window="30m")
    connect(app, mock, "bob")
    cta = org_posts(app, clock)
    tick(app)  # bob's boost of the call to action is planned within the next 30 minutes
    lifecycle.close(app, "test", "success", "tester")
    Dispatcher(app).run_once()
    closing = [d for d in deliveries(app, account_id="org", kind="closing") if d.status == "sent"]
    assert len(closing) == 1
    assert tick(app).planned == 1
    clock.advance(timedelta(minutes=31))
    Dispatcher(app).run_once()
    assert boosters(mock, closing[0].remote_id) == ["bob"]
    assert boosters(mock, cta.remote_id) == []  # planned, then cancelled by the close: not boosted after it
    assert sorted((b.kind, b.status) for b in boosts(app)) == [("closing", "sent"), ("queued", "cancelled")]


def test_a_status_of_another_instance_is_resolved_on_the_supporters_before_the_reblog(monkeypatch):
    from bot.networks.base import Post, TransientError
    from bot.networks.mastodon.adapter import MastodonNetwork, MastodonSettings
    from tests.fake_networks import FakeMastodon

    theirs = FakeMastodon().start()
    try:
        theirs.remote["https://org.example/@org/42"] = "110000000000000777"
        monkeypatch.setenv("FAN_TOKEN", "fan-token")
        net = MastodonNetwork("supporter:1", MastodonSettings(network="mastodon", api_base_url=theirs.url,
                                                             access_token_env="FAN_TOKEN"))
        boosted = net.boost(Post(1, "k", "https://org.example/@org/42", "en"))
        assert theirs.searches == [("https://org.example/@org/42", True)]
        assert [k[1] for k in theirs.reblogs] == ["110000000000000777"]
        assert boosted.ref == {"status_id": "110000000000000777"}
        with pytest.raises(TransientError, match="could not be resolved"):
            net.boost(Post(2, "k", "https://org.example/@org/43", "en"))
    finally:
        theirs.stop()


def test_the_report_counts_supporters_boosts_per_post_and_a_post_not_read_yet_has_no_counts(
        make_app, campaigns_dir, monkeypatch, mock, clock):
    from click.testing import CliRunner

    from bot.cli import cli
    from bot.reach.report import report, rows

    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    for name in ("bob", "carol"):
        connect(app, mock, name)
    first = org_posts(app, clock)
    tick(app)
    Dispatcher(app).run_once()
    second = org_posts(app, clock, "Second call {{ link }}")
    with app.engine.connect() as conn:
        [r] = report(conn, "test")
    per_post = {p["delivery_id"]: p for p in r["posts"]}
    assert per_post[first.id]["supporter_boosts"] == 2 and per_post[second.id]["supporter_boosts"] == 0
    assert r["totals"]["supporter_boosts"] == 2 == r["networks"]["mastodon"]["supporter_boosts"]
    unread = ("boosts", "likes", "replies", "quotes", "collected_at")
    assert {k: per_post[first.id][k] for k in unread} == dict.fromkeys(unread)  # not read yet: unknown, not 0
    [post_row] = [x for x in rows([r]) if x["level"] == "post" and x["delivery_id"] == first.id]
    assert (post_row["boosts"], post_row["supporter_boosts"]) == ("", 2)
    monkeypatch.setenv("CAMPAIGN_BOT_CONFIG", str(app.config.path))
    text = CliRunner().invoke(cli, ["report", "test"]).stdout
    assert "1 posts" not in text and "- boosts, - likes" in text and "2 supporters' boosts" in text


def test_a_supporters_boost_reads_its_budget_counts_with_its_due_boost_in_one_statement(
        make_app, campaigns_dir, monkeypatch, mock, clock, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("statements are counted at the SQLite driver (the same statements run on PostgreSQL)")
    from tests.wirecount import SqliteCounter

    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    connect(app, mock, "bob")
    post = org_posts(app, clock)
    tick(app)
    counter = SqliteCounter(app.engine)
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == ["bob"]
    counts = [s for s in counter.statements if "sum(CASE WHEN" in s]
    assert counts and all("JOIN campaigns" in s for s in counts)  # no count of its own: a round trip less


def test_a_boost_and_its_undoing_go_through_mastodon_py_without_typing_its_answer(
        make_app, campaigns_dir, monkeypatch, mock, clock):
    """The installed Mastodon.py has the request the adapter uses (if an upgrade renames it, boosts fall back to
    status_reblog: slower, the same outcome); the reblog recorded is the server's."""
    from bot.networks.mastodon.transport import untyped_post

    app = boost_app(make_app, campaigns_dir, monkeypatch, mock)
    bob = connect(app, mock, "bob").supporter.account_id
    post = org_posts(app, clock)
    assert untyped_post(app.network(bob).client(), f"/api/v1/statuses/{post.remote_id}/unreblog") is not None
    tick(app)
    Dispatcher(app).run_once()
    [boost] = boosts(app)
    assert boost.status == "sent" and boost.remote_id and boosters(mock, post.remote_id) == ["bob"]
    with app.sessions.begin() as s:
        plan_unboosts(s.connection(), bob, clock.now())
    Dispatcher(app).run_once()
    assert boosters(mock, post.remote_id) == []


def test_a_mastodon_py_whose_request_changed_is_used_through_its_public_methods():
    """The request `untyped_post` uses is private to Mastodon.py: if an upgrade changes what it takes, the boost
    goes through status_reblog instead, decided before anything is sent (never a half-made call)."""
    from mastodon import Mastodon

    from bot.networks.mastodon.transport import untyped_post

    sent: list[str] = []

    class Upgraded(Mastodon):  # type: ignore[misc]
        def _Mastodon__api_request(self, method, endpoint):  # noqa: N802  # what a rename could look like
            sent.append(endpoint)
            return {}

    client = Upgraded(access_token="t", api_base_url="http://127.0.0.1:9", version_check_mode="none")
    assert untyped_post(client, "/api/v1/statuses/1/reblog") is None
    assert sent == []
