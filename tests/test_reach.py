"""Reach: counts collected back on the schedule, the target's answers, and the report (issue 12)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from bot.networks.reading import Counts
from bot.reach import collect as reach_collect
from bot.reach.collect import collect
from bot.reach.report import report, rows
from bot.reach.schedule import next_reading
from bot.reach.tables import READERS, RESPONSES
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import START, deliveries, write_campaign

LATER = '[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]'
TARGETS = """
[cancilleria-peru]
name = "Ministerio de Relaciones Exteriores del Perú"
x = "@CancilleriaPeru"
mastodon = "@bob@mock.local"
bluesky = "@cancilleria.bsky.social"
"""



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
                           "supporter_boosts": 0, "share_clicks": 0, "target_responses": 1, "letters": 0}
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


# -- Bluesky (the fake PDS answers as the AppView does) and X ----------------------------------------------------

@pytest.fixture
def bluesky(monkeypatch):
    from tests.fake_networks import FakeBluesky

    server = FakeBluesky().start()
    monkeypatch.setenv("BSKY_PASSWORD", server.password)
    yield server
    server.stop()


def bluesky_app(make_app, campaigns_dir, server, texts=("Free them now {{ link }}",)):
    (campaigns_dir / "targets.toml").write_text(TARGETS, encoding="utf-8")
    write_campaign(campaigns_dir, accounts='accounts = ["org"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    app = make_app(networks={}, accounts=(), config_extra=(
        f'[accounts.org]\nnetwork = "bluesky"\nhandle = "{server.handle}"\napp_password_env = "BSKY_PASSWORD"\n'
        f'service_url = "{server.url}"\n'))
    plan(app)
    for text in texts:
        lifecycle.queue(app, "test", app.clock.now(), text, "tester")
    assert Dispatcher(app).run_once() == len(texts)
    return app


def test_bluesky_counts_come_25_posts_per_getposts_and_the_targets_quote_is_recorded(make_app, campaigns_dir, clock,
                                                                                      bluesky):
    app = bluesky_app(make_app, campaigns_dir, bluesky, texts=tuple(f"Appeal {i} {{{{ link }}}}" for i in range(30)))
    posts = deliveries(app, kind="queued")
    first = posts[0].remote_id
    bluesky.counts[first] = {"reposts": 3, "likes": 7, "replies": 2, "quotes": 1}
    bluesky.answer("quote", "cancilleria.bsky.social", "The Ministry is looking into this case.", first)
    bluesky.answer("reply", "someone.bsky.social", "Shared!", first)
    bluesky.answer("like", "fan.bsky.social", "", first)
    clock.advance(timedelta(minutes=10))
    done = collect(app)
    assert done.snapshots == 30 and done.responses == 1 and done.others == 1
    reads = [r for r in bluesky.requests if r.path.endswith("getPosts")]
    assert [len(r.query["uris"]) for r in reads] == [25, 5]
    with app.engine.connect() as conn:
        [r] = report(conn, "test")
    assert r["networks"]["bluesky"] == {"posts": 30, "boosts": 3, "likes": 7, "replies": 2, "quotes": 1,
                                             "supporter_boosts": 0, "share_clicks": 0, "target_responses": 1}
    [answer] = r["responses"]
    assert (answer["kind"], answer["author"], answer["delivery_id"]) == ("quote", "@cancilleria.bsky.social",
                                                                          posts[0].id)
    assert answer["url"].startswith("https://bsky.app/profile/cancilleria.bsky.social/post/")


def test_bluesky_notifications_are_read_from_where_the_last_pass_stopped(make_app, campaigns_dir, clock, bluesky):
    app = bluesky_app(make_app, campaigns_dir, bluesky)
    [post] = deliveries(app, kind="queued")
    bluesky.answer("reply", "cancilleria.bsky.social", "First answer.", post.remote_id, "2026-11-30T14:10:00.000Z")
    assert collect(app).responses == 1
    with app.engine.connect() as conn:
        assert conn.scalar(select(READERS.c.cursor)) == "2026-11-30T14:10:00.000Z"  # the newest indexedAt seen
    bluesky.answer("mention", "cancilleria.bsky.social", "@org.bsky.social a plain mention.", None,
                   "2026-11-30T14:30:00.000Z")
    assert collect(app).responses == 1
    with app.engine.connect() as conn:
        kinds = [(a.kind, a.delivery_id) for a in conn.execute(select(RESPONSES).order_by(RESPONSES.c.id))]
    assert kinds == [("reply", post.id), ("mention", None)]  # a plain mention: the campaign naming the target


@pytest.fixture
def fake_x(monkeypatch):
    from tests.fake_networks import FakeX

    server = FakeX().start()
    for name in ("CK", "CS", "AT", "ATS"):
        monkeypatch.setenv(f"X_{name}", "placeholder")
    yield server
    server.stop()


def x_app(make_app, campaigns_dir, server, tier):
    (campaigns_dir / "targets.toml").write_text(TARGETS, encoding="utf-8")
    write_campaign(campaigns_dir, accounts='accounts = ["org_x"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    app = make_app(networks={}, accounts=(), config_extra=(
        f'[accounts.org_x]\nnetwork = "x"\ntier = "{tier}"\nconsumer_key_env = "X_CK"\nconsumer_secret_env = "X_CS"\n'
        'access_token_env = "X_AT"\naccess_token_secret_env = "X_ATS"\n'))
    server.mount(app.network("org_x"))
    plan(app)
    lifecycle.queue(app, "test", app.clock.now(), "Free them now {{ link }}", "tester")
    assert Dispatcher(app).run_once() == 1
    return app


def test_x_without_reads_on_its_tier_says_not_available_once_and_is_not_an_error(make_app, campaigns_dir, clock,
                                                                                 fake_x):
    app = x_app(make_app, campaigns_dir, fake_x, "free")
    clock.advance(timedelta(minutes=10))
    first = collect(app)
    assert first.notes == ["org_x: X free tier: not available on this tier"] and first.snapshots == 0
    clock.advance(timedelta(hours=1))
    assert collect(app).notes == []  # said once
    [post] = deliveries(app, kind="queued")
    assert post.status == "sent" and post.error is None
    with app.engine.connect() as conn:
        [r] = report(conn, "test")
    assert r["unavailable"] == {"org_x": "X free tier: not available on this tier"}
    assert not [q for q in fake_x.requests if q.method == "GET" and "/2/tweets" in q.path]


def test_x_public_metrics_and_the_targets_reply_where_the_tier_reads(make_app, campaigns_dir, clock, fake_x):
    app = x_app(make_app, campaigns_dir, fake_x, "basic")
    [post] = deliveries(app, kind="queued")
    fake_x.metrics[post.remote_id] = {"retweet_count": 4, "like_count": 9, "reply_count": 2, "quote_count": 1}
    fake_x.answer("CancilleriaPeru", "@org_x We are reviewing the case.", replied_to=post.remote_id)
    fake_x.answer("someone", "@org_x signed!", replied_to=post.remote_id)
    clock.advance(timedelta(minutes=10))
    done = collect(app)
    assert (done.snapshots, done.responses, done.others) == (1, 1, 1)
    assert collect(app).responses == 0  # since_id: the same mentions are not read twice
    with app.engine.connect() as conn:
        [r] = report(conn, "test")
    assert {k: r["totals"][k] for k in ("boosts", "likes", "replies", "quotes")} == {
        "boosts": 4, "likes": 9, "replies": 2, "quotes": 1}
    [answer] = r["responses"]
    assert (answer["author"], answer["kind"], answer["delivery_id"]) == ("@CancilleriaPeru", "reply", post.id)


def test_an_older_mastodon_is_read_one_status_per_request(make_app, campaigns_dir, clock, mastodon_server,
                                                          monkeypatch):
    (campaigns_dir / "targets.toml").write_text(TARGETS, encoding="utf-8")
    write_campaign(campaigns_dir, accounts='accounts = ["org"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    monkeypatch.setenv("ORG_TOKEN", "alice_token")
    app = make_app(networks={}, accounts=(), config_extra=(
        f'[accounts.org]\nnetwork = "mastodon"\napi_base_url = "{mastodon_server.base_url}"\n'
        'access_token_env = "ORG_TOKEN"\nmastodon_version = "4.2.0"\n'))
    plan(app)
    lifecycle.queue(app, "test", clock.now(), "Free them now {{ link }}", "tester")
    assert Dispatcher(app).run_once() == 1
    [post] = deliveries(app, kind="queued")
    mastodon_server.client("bob").status_favourite(post.remote_id)
    net = app.network("org")
    assert net.counts([post.remote_id, "999999999"]) == {post.remote_id: Counts(reposts=0, likes=1, replies=0)}

def test_the_reach_migration_creates_exactly_the_reach_tables(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import bot.reach.tables  # noqa: F401 - registers the tables
    from bot.store.db import make_engine, upgrade
    from bot.store.models import Base

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    ours = [d for d in diff if any(t in repr(d) for t in ("reach_snapshots", "target_responses", "reach_accounts"))]
    assert ours == []


def test_the_daemon_runs_one_collection_job_whatever_the_restarts(tmp_path):
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.bootstrap import bootstrap
    from bot.config.settings import load_config

    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\ndatabase_url = "sqlite:///{tmp_path}/bot.db"\n', encoding="utf-8")
    app = bootstrap(load_config(cfg))
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)  # as in the daemon: jobs go to the job store, where the id is unique
    try:
        reach_collect.attach(scheduler, app)
        reach_collect.attach(scheduler, app)
        assert [j.id for j in scheduler.get_jobs()] == ["reach"]
    finally:
        scheduler.shutdown(wait=False)
    reach_collect.job(app)()  # an empty database: nothing to read, nothing fails
    app.engine.dispose()


def test_totals_over_time_count_each_post_at_its_latest_reading_and_are_thinned_for_long_campaigns():
    from types import SimpleNamespace

    from bot.reach.report import over_time

    def snap(i, delivery, hours, likes):
        return SimpleNamespace(id=i, delivery_id=delivery, collected_at=START + timedelta(hours=hours), reposts=0,
                               likes=likes, replies=0, quotes=None)

    history = {1: [snap(1, 1, 0, 2), snap(3, 1, 6, 5)], 2: [snap(2, 2, 0, 1)]}
    assert [(p["at"][11:16], p["likes"]) for p in over_time(history)] == [("13:00", 3), ("19:00", 6)]
    long = {1: [snap(i, 1, i, i) for i in range(1000)]}
    thinned = over_time(long, points=50)
    assert len(thinned) == 50 and thinned[0]["likes"] == 0 and thinned[-1]["likes"] == 999


def test_refresh_reads_now_after_a_failed_read_within_the_budget(make_app, campaigns_dir, clock, mastodon_server,
                                                                 monkeypatch):
    app = mastodon_app(make_app, campaigns_dir, mastodon_server, monkeypatch)
    clock.advance(timedelta(minutes=10))
    net = app.network("org")
    url = net.settings.api_base_url
    net.settings.api_base_url = "http://127.0.0.1:9"  # nothing listens there
    net._client = None
    assert any("retried later" in n for n in collect(app).notes)
    net.settings.api_base_url, net._client = url, None  # the user fixed it
    assert collect(app).snapshots == 0  # the schedule still waits for the retry time
    done = collect(app, force=True)  # `report --refresh`: now
    assert done.snapshots == 1, done.notes
    assert not any("read again after" in n for n in done.notes)
    with app.engine.connect() as conn:
        assert conn.scalar(select(READERS.c.last_error)) is None


def test_report_with_both_json_and_csv_is_a_command_line_error_exit_2():
    result = CliRunner().invoke(cli, ["report", "--json", "--csv"])
    assert result.exit_code == 2, result.output
    assert "--json and --csv: choose one" in result.output


def reads_used(app: Any, account: str = "org") -> int:
    """How many reads of its mentions the account's read budget has counted."""
    with app.engine.connect() as conn:
        return int(conn.scalar(select(READERS.c.reads_used).where(READERS.c.account_id == account)) or 0)


def test_a_quiet_accounts_mentions_are_read_less_and_less_often_and_at_once_after_it_publishes(
        make_app, campaigns_dir, clock, mastodon_server, monkeypatch):
    """The daemon's passes (every 30 s) back off for an account whose mentions bring nothing new: reading costs
    in proportion to what is found. An answer found, or a new post, brings it back to every pass."""
    app = mastodon_app(make_app, campaigns_dir, mastodon_server, monkeypatch)
    quiet = reach_collect.Quiet()

    reads = partial(reads_used, app)

    seen = []
    for _ in range(8):  # 0, 30, ..., 210 s
        collect(app, quiet=quiet)
        seen.append(reads())
        clock.advance(timedelta(seconds=30))
    assert seen == [1, 1, 2, 2, 2, 2, 3, 3]  # read at 0, 60 and 180 s: the interval doubles from a minute

    lifecycle.queue(app, "test", app.clock.now(), "A second post {{ link }}", "tester")
    assert Dispatcher(app).run_once() == 1
    collect(app, quiet=quiet)  # it published: read at the next pass
    assert reads() == 4
    assert collect(app).responses == 0  # without the daemon's backoff (`report --refresh`): read every time
    assert reads() == 5


def test_an_account_that_keeps_publishing_while_nothing_comes_back_is_read_less_and_less_often(
        make_app, campaigns_dir, clock, mastodon_server, monkeypatch):
    """A post brings an account back to every pass only after a silence (a new round of posts): one that posts
    between every two passes and hears nothing is not read at every pass for as long as it publishes (reading
    would cost per account per pass again); an answer still brings it back at once."""
    app = mastodon_app(make_app, campaigns_dir, mastodon_server, monkeypatch)
    quiet = reach_collect.Quiet()

    reads = partial(reads_used, app)

    seen = []
    for n in range(8):  # a post before each pass, every 30 s
        lifecycle.queue(app, "test", app.clock.now(), f"Post {n} {{{{ link }}}}", "tester")
        assert Dispatcher(app).run_once() == 1
        collect(app, quiet=quiet)
        seen.append(reads())
        clock.advance(timedelta(seconds=30))
    assert seen == [1, 1, 2, 2, 2, 2, 3, 3]  # as a silent account's: read at 0, 60 and 180 s


def test_the_daemons_passes_look_at_the_published_posts_only_when_one_may_be_due_a_reading(
        make_app, campaigns_dir, clock, mastodon_server, monkeypatch):
    """Looking for the posts due a reading reads every published post with its last reading: the daemon's
    passes look once, then not again before the soonest reading they found (or a new post's first), so a pass
    costs in proportion to what it finds, not to how much was ever published. The readings come on time."""
    from sqlalchemy import event

    app = mastodon_app(make_app, campaigns_dir, mastodon_server, monkeypatch)
    quiet = reach_collect.Quiet()
    looked: list[str] = []

    def statement(_conn, _cursor, sql, *_args) -> None:
        if "reach_snapshots" in sql and "max(" in sql.lower():  # the published posts with their last reading
            looked.append(sql)

    event.listen(app.engine, "before_cursor_execute", statement)
    assert collect(app, quiet=quiet).snapshots == 0  # published now: its first reading is in 10 minutes
    assert len(looked) == 1
    for _ in range(19):  # 30 s apart, up to 9.5 minutes
        clock.advance(timedelta(seconds=30))
        assert collect(app, quiet=quiet).snapshots == 0
    assert len(looked) == 1
    clock.advance(timedelta(seconds=30))  # 10 minutes after publication
    assert collect(app, quiet=quiet).snapshots == 1
    assert len(looked) == 2
    clock.advance(timedelta(seconds=30))
    assert collect(app, quiet=quiet).snapshots == 0  # the next reading is an hour after publication
    assert len(looked) == 3
    clock.advance(timedelta(seconds=30))
    assert collect(app, quiet=quiet).snapshots == 0
    assert len(looked) == 3  # known: nothing before then


def test_a_read_is_reserved_in_one_statement_for_a_new_account_and_in_a_new_window(make_app, clock):
    """The read budget's reservation runs on every read: one statement creates the account's row, renews a past
    window or adds to the current one (the transaction of `reserve`, several statements, only when the reads do
    not fit: it grants fewer). Its reading state comes back as it was."""
    from bot.reach import schedule

    app = make_app()
    now = clock.now()
    with app.engine.begin() as conn:
        first = schedule.take_reads(conn, "org", "mastodon", 2, now)  # no row yet
    assert first is not None and (first.cursor, first.last_error, first.retry_at) == (None, None, None)
    assert reads_used(app) == 2
    with app.engine.begin() as conn:
        schedule.update_reader(conn, "org", now, cursor="41")
        assert schedule.take_reads(conn, "org", "mastodon", 58, now).cursor == "41"  # up to 60 per 5 minutes
        assert schedule.take_reads(conn, "org", "mastodon", 1, now) is None  # over it: `reserve` says how many
    assert reads_used(app) == 60
    with app.engine.begin() as conn:
        later = schedule.take_reads(conn, "org", "mastodon", 3, now + timedelta(minutes=5))  # a new window
    assert later is not None and later.cursor == "41" and reads_used(app) == 3
    with app.engine.begin() as conn:
        assert schedule.take_reads(conn, "org", "mastodon", 61, now + timedelta(minutes=10)) is None  # never more
    assert reads_used(app) == 3


def _one_post_sent(make_app: Any, campaigns_dir: Any, clock: Any) -> tuple[Any, Any]:
    """One account (a1) whose first call to action went out."""
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]', ask='ask = "Act"')
    app = make_app(accounts=("a1",), horizon_days=1)
    plan(app)
    clock.advance(timedelta(hours=1))
    Dispatcher(app).run_once()
    [sent] = deliveries(app, status="sent")
    return app, sent


def test_a_pass_reads_the_latest_post_of_the_accounts_it_reads_only_not_every_supporters(make_app, campaigns_dir,
                                                                                         clock):
    """Each daemon pass asked for every account's latest post: with a wave's supporters (100,000 accounts, each
    with its boosts), 100,000 rows every pass, for accounts whose mentions are never read. Only the accounts the
    pass may read are looked up now (bench/reach.py prints the pass's CPU with 100,000 supporters' boosts); and
    the same for which accounts have posts due (a wave's boosts: every supporter)."""
    from sqlalchemy import insert

    from bot.outbox.tables import DELIVERIES

    app, sent = _one_post_sent(make_app, campaigns_dir, clock)
    boosted = clock.now() + timedelta(minutes=5)
    with app.engine.begin() as conn:
        def boost(n: int, key: str, **state: Any) -> dict[str, Any]:
            return dict(plan_key=key, campaign_id="test", account_id=f"supporter:{n}", network="mastodon",
                        kind="call_to_action", action="boost", language="en", text=sent.remote_url or "x", media=[],
                        reply_in_thread=False, due_at=boosted, created_at=boosted, updated_at=boosted, **state)

        conn.execute(insert(DELIVERIES), [boost(n, f"boost:{n}", status="sent", attempts=1, sent_at=boosted,
                                                remote_id=f"r{n}") for n in range(50)])
        conn.execute(insert(DELIVERIES), [boost(n, f"boost:{n}:2", status="planned", attempts=0)  # due now
                                          for n in range(50)])
        clock.advance(timedelta(minutes=10))
        reads = reach_collect._pass_reads(conn, clock.now(), None, False, True, latest=True)
    assert reads[3] == {"a1": sent.sent_at}
    assert reads[4] == set()  # the accounts posting first, among those it reads: none (a1 has nothing due)


def test_the_latest_posts_of_many_accounts_are_read_in_chunks(make_app, campaigns_dir, clock):
    """The accounts asked for in bounded lists (a first version, one sub-select per account in a compound
    SELECT, failed every pass past SQLite's 500 terms: seen by a review with 600 accounts)."""
    from bot.reach.schedule import LOOKUPS, latest_posts

    app, sent = _one_post_sent(make_app, campaigns_dir, clock)
    many = [f"supporter:{n}" for n in range(3 * LOOKUPS + 1)] + ["a1"]
    with app.engine.connect() as conn:
        assert latest_posts(conn, many) == {"a1": sent.sent_at}
