from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.campaigns.validate import load_campaigns
from bot.config.settings import load_config
from bot.networks.budgets import BudgetWindow, budget_for, busiest
from bot.states import Status
from bot.store.models import DeliveryRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import write_campaign
from tests.fakes import FakeNetwork

LATER = '[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]'


def test_presets_follow_each_network_and_tier():
    class S:
        def __init__(self, network, tier=None):
            self.network, self.tier, self.rate_budget = network, tier, None

    assert budget_for(S("mastodon")) == (BudgetWindow(limit=300, per_seconds=10800),)
    assert budget_for(S("x", "pay-per-use"))[0].describe() == "100 posts per 15 min"
    assert budget_for(S("x", "free"))[0].describe() == "17 posts per 24 h"
    assert budget_for(S("x", "basic"))[0].describe() == "100 posts per 24 h"
    assert [w.posts for w in budget_for(S("bluesky"))] == [1666, 11666]  # 5,000 and 35,000 points at 3 a post
    assert budget_for(S("console")) == ()


def test_busiest_window_counts_a_sliding_window():
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    times = [t0 + timedelta(minutes=m) for m in (0, 10, 20, 70, 75, 80, 85)]
    assert busiest(times, BudgetWindow(limit=10, per_seconds=3600)) == (4, t0 + timedelta(minutes=70))


def test_posts_over_the_budget_are_deferred_until_it_frees_never_dropped(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]', ask='ask = "Act"',
                   schedule=LATER)
    net = FakeNetwork("a1")
    app = make_app(networks={"a1": net}, accounts=(),
                   config_extra='[accounts.a1]\nnetwork = "console"\n'
                                'rate_budget = [{ limit = 3, per_seconds = 3600 }]\n')
    plan(app)
    for n in range(5):
        lifecycle.queue(app, "test", clock.now(), f"post {n}", "t")
    d = Dispatcher(app)
    d.run_once()
    assert len(net.posts) == 3
    with app.sessions() as s:
        waiting = list(s.scalars(select(DeliveryRow).where(DeliveryRow.status == Status.PLANNED,
                                                            DeliveryRow.kind == "queued")))
    assert len(waiting) == 2 and all(w.not_before == clock.now() + timedelta(hours=1) for w in waiting)
    clock.advance(timedelta(minutes=59))
    d.run_once()
    assert len(net.posts) == 3
    clock.advance(timedelta(hours=3))  # far past the grace window: deferred posts are still sent, not missed
    d.run_once()
    with app.sessions() as s:
        statuses = [r.status for r in s.scalars(select(DeliveryRow).where(DeliveryRow.kind == "queued"))]
    assert statuses.count(Status.SENT) == 5 and Status.MISSED not in statuses
    assert net.texts == [f"post {n}" for n in range(5)]


def test_validate_warns_when_schedules_exceed_an_accounts_budget(tmp_path, campaigns_dir):
    write_campaign(campaigns_dir, "busy", accounts='accounts = ["x_free"]', languages='languages = ["en"]',
                   ask='ask = "Act"', schedule='[[schedule]]\nid = "half-hourly"\ncron = "*/30 * * * *"')
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\ncampaigns_dir = "{campaigns_dir}"\n[accounts.x_free]\nnetwork = "x"\ntier = "free"\n'
                   'bearer_token_env = "X_TOKEN"\n')
    result = load_campaigns(load_config(cfg), datetime(2026, 12, 1, tzinfo=UTC))
    [warning] = [i for i in result.issues if i.severity == "warning" and "budget" in i.message]
    assert warning.field == "accounts.x_free"
    assert "post 48 times in the 24 h" in warning.message and "17 posts per 24 h" in warning.message
    assert result.errors == []


def test_each_window_counts_what_the_account_sent_or_may_have_sent_in_it(make_app, campaigns_dir, clock):
    """The counts behind the rate budgets (one raw statement for all windows): sent and unknown rows count,
    each window from its own start; other accounts' and other statuses' rows do not."""
    from bot.outbox.budgets import used_in_windows
    from bot.outbox.link import Link

    write_campaign(campaigns_dir, accounts='accounts = ["a1", "a2"]', languages='languages = ["en"]',
                   ask='ask = "Act"', schedule=LATER)
    app = make_app(networks={a: FakeNetwork(a) for a in ("a1", "a2")}, accounts=(),
                   config_extra="".join(f'[accounts.{a}]\nnetwork = "console"\n' for a in ("a1", "a2")))
    plan(app)
    start = clock.now()
    for n, minutes in enumerate((0, 30, 100, 110)):  # sent 110, 80, 10 and 0 minutes before `now`
        clock.set(start + timedelta(minutes=minutes))
        lifecycle.queue(app, "test", clock.now(), f"post {n}", "t", account="a1")
        Dispatcher(app).run_once()
    lifecycle.queue(app, "test", clock.now(), "a2's post", "t", account="a2")
    Dispatcher(app).run_once()
    with app.sessions() as s:
        rows = {r.text: r for r in s.scalars(select(DeliveryRow).where(DeliveryRow.kind == "queued"))}
        rows["post 2"].status = "unknown"  # may have gone out: counted
        rows["post 3"].status = "failed"  # did not: not counted
        s.commit()
    # The second window starts exactly when post 1 was sent (80 minutes ago): a window includes its start.
    windows = (BudgetWindow(limit=10, per_seconds=3600), BudgetWindow(limit=10, per_seconds=4800),
               BudgetWindow(limit=10, per_seconds=86400))
    with Link(app.engine) as link:
        assert link.run(lambda conn: used_in_windows(conn, "a1", windows, clock.now())) == [1, 2, 3]
        assert link.run(lambda conn: used_in_windows(conn, "a1", windows[:1], clock.now())) == [1]
        assert link.run(lambda conn: used_in_windows(conn, "a2", windows, clock.now())) == [1, 1, 1]
