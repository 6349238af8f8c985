"""Reach: counts collected back on the schedule, the target's answers, and the report (issue 12)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot import lifecycle
from bot.cli import cli
from bot.dispatch import Dispatcher
from bot.planner import plan
from bot.reach import collect as reach_collect
from bot.reach.collect import collect
from bot.reach.report import report, rows
from bot.reach.schedule import next_reading
from bot.reach.tables import READERS, RESPONSES, SNAPSHOTS
from tests.conftest import START, deliveries, write_campaign

LATER = '[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]'
TARGETS = """
[cancilleria-peru]
name = "Ministerio de Relaciones Exteriores del Perú"
x = "@CancilleriaPeru"
mastodon = "@bob@mock.local"
bluesky = "@cancilleria.bsky.social"
"""


@pytest.fixture
def mastodon_server():
    from mastodon_mock.testing.server import MockServer

    with MockServer() as server:
        yield server


def mastodon_app(make_app, campaigns_dir, server, monkeypatch):
    """The organisation posts as alice on mastodon-mock; bob is the target."""
    (campaigns_dir / "targets.toml").write_text(TARGETS, encoding="utf-8")
    write_campaign(campaigns_dir, accounts='accounts = ["org"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    monkeypatch.setenv("ORG_TOKEN", "alice_token")
    app = make_app(networks={}, accounts=(), config_extra=(
        f'[accounts.org]\nnetwork = "mastodon"\napi_base_url = "{server.base_url}"\naccess_token_env = "ORG_TOKEN"\n'))
    plan(app)
    lifecycle.queue(app, "test", app.clock.now(), "Free them now {{ link }}", "tester")
    assert Dispatcher(app).run_once() == 1
    return app


def test_the_schedule_decays_after_publication_then_reads_daily_while_the_campaign_is_open():
    sent = START
    assert next_reading(sent, None, True) == sent + timedelta(minutes=10)
    assert next_reading(sent, sent + timedelta(minutes=11), True) == sent + timedelta(hours=1)
    assert next_reading(sent, sent + timedelta(hours=2), True) == sent + timedelta(hours=6)
    assert next_reading(sent, sent + timedelta(days=3, minutes=5), True) == sent + timedelta(days=4, minutes=5)
    assert next_reading(sent, sent + timedelta(days=3, minutes=5), False) is None


def test_mastodon_counts_and_the_targets_reply_are_collected_and_others_replies_only_counted(
        make_app, campaigns_dir, clock, mastodon_server, monkeypatch):
    app = mastodon_app(make_app, campaigns_dir, mastodon_server, monkeypatch)
    [post] = deliveries(app, kind="queued")
    bob, carol = mastodon_server.client("bob"), mastodon_server.client("carol")
    status = bob.status(post.remote_id)
    bob.status_favourite(post.remote_id)
    bob.status_reblog(post.remote_id)
    bob.status_reply(status, "We have received the appeals and are reviewing the case.")
    carol.status_favourite(post.remote_id)
    carol.status_reply(status, "Signed and shared!")

    assert collect(app).snapshots == 0  # not due before 10 minutes, but the answers are read at once
    with app.engine.connect() as conn:
        [answer] = conn.execute(select(RESPONSES)).all()
        others = conn.scalar(select(READERS.c.others_answers))
    assert (answer.campaign_id, answer.network, answer.account_id, answer.delivery_id, answer.kind) == (
        "test", "mastodon", "org", post.id, "reply")
    assert answer.author == "@bob@mock.local" and "reviewing the case" in answer.text and answer.url
    assert others == 1  # carol's reply: counted, not stored

    clock.advance(timedelta(minutes=10))
    assert collect(app).snapshots == 1
    assert collect(app).snapshots == 0  # the next reading is an hour after publication
    with app.engine.connect() as conn:
        [r] = report(conn, "test")
    assert r["totals"] == {"posts": 1, "boosts": 1, "likes": 2, "replies": 2, "quotes": 0,
                                "supporter_boosts": 0, "share_clicks": 0, "target_responses": 1}
    assert r["posts"][0]["quotes"] is None  # mastodon-mock, like Mastodon before 4.5, has no quotes_count
    assert [a["author"] for a in r["responses"]] == ["@bob@mock.local"]
    assert r["over_time"][-1]["likes"] == 2

    collect(app)  # reading the notifications again stores nothing twice
    with app.engine.connect() as conn:
        assert len(conn.execute(select(RESPONSES)).all()) == 1


def test_the_reports_json_and_csv_agree(make_app, campaigns_dir, clock, mastodon_server, monkeypatch):
    app = mastodon_app(make_app, campaigns_dir, mastodon_server, monkeypatch)
    [post] = deliveries(app, kind="queued")
    mastodon_server.client("bob").status_favourite(post.remote_id)
    monkeypatch.setenv("CAMPAIGN_BOT_CONFIG", str(app.config.path))
    runner = CliRunner()
    refreshed = runner.invoke(cli, ["report", "--refresh", "--json"])
    assert refreshed.exit_code == 0, refreshed.output
    data = json.loads(refreshed.stdout)
    assert data[0]["totals"]["likes"] == 1  # --refresh read it at once, without waiting for the schedule
    as_csv = runner.invoke(cli, ["report", "--csv"])
    assert as_csv.exit_code == 0, as_csv.output
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    expected = [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows(data)]
    assert parsed == expected
    assert {r["level"] for r in parsed} == {"campaign", "network", "post", "time"}
    text = runner.invoke(cli, ["report", "test"])
    assert "1 likes" in text.stdout and "test (active)" in text.stdout


def test_a_read_error_is_retried_later_and_marks_nothing_failed(make_app, campaigns_dir, clock, mastodon_server,
                                                                 monkeypatch):
    app = mastodon_app(make_app, campaigns_dir, mastodon_server, monkeypatch)
    clock.advance(timedelta(minutes=10))
    net = app.network("org")
    url = net.settings.api_base_url
    net.settings.api_base_url = "http://127.0.0.1:9"  # nothing listens there
    net._client = None
    done = collect(app)
    assert done.snapshots == 0 and any("retried later" in n for n in done.notes)
    [post] = deliveries(app, kind="queued")
    assert post.status == "sent" and post.error is None
    with app.engine.connect() as conn:
        assert conn.scalar(select(READERS.c.retry_at)) > clock.now()
    net.settings.api_base_url, net._client = url, None
    assert collect(app).snapshots == 0  # waits for its retry time
    clock.advance(reach_collect.RETRY_AFTER_ERROR)
    assert collect(app).snapshots == 1


def test_an_account_with_posts_due_is_not_read_posting_comes_first(make_app, campaigns_dir, clock,
                                                                    mastodon_server, monkeypatch):
    app = mastodon_app(make_app, campaigns_dir, mastodon_server, monkeypatch)
    clock.advance(timedelta(minutes=10))
    lifecycle.queue(app, "test", clock.now(), "Another appeal {{ link }}", "tester")
    done = collect(app)
    assert done.snapshots == 0 and any("posting first" in n for n in done.notes)
    Dispatcher(app).run_once()
    assert collect(app).snapshots == 1


def test_reads_stay_inside_the_accounts_read_budget(make_app, campaigns_dir, clock, mastodon_server, monkeypatch):
    app = mastodon_app(make_app, campaigns_dir, mastodon_server, monkeypatch)
    clock.advance(timedelta(minutes=10))
    monkeypatch.setitem(reach_collect.schedule.READ_BUDGETS, "mastodon", (1, 300))
    done = collect(app)  # the one read goes to the notifications; the counts wait
    assert done.snapshots == 0 and any("wait for the read budget" in n for n in done.notes)
    assert any("budget is spent" in n for n in collect(app).notes)
    clock.advance(timedelta(minutes=5))
    monkeypatch.setitem(reach_collect.schedule.READ_BUDGETS, "mastodon", (2, 300))
    assert collect(app).snapshots == 1


def _snapshots(app: Any) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(SNAPSHOTS)).all())
