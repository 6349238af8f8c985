"""A week of downtime: tens of thousands of stale rows for one account are marked missed in a few set-based
statements, not one claim per row (issue 7, item 6)."""

from datetime import timedelta

from sqlalchemy import func, insert, select

from bot.states import Status
from bot.store.models import DeliveryRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork
from tests.test_dispatch import LATER

STALE = 50_000


def test_fifty_thousand_stale_rows_are_marked_missed_and_the_due_post_still_goes_out(make_app, campaigns_dir,
                                                                                     clock):
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]', ask='ask = "Act"',
                   schedule=LATER, extra="grace_minutes = 60")
    net = FakeNetwork("a1")
    app = make_app(networks={"a1": net}, accounts=("a1",))
    plan(app)
    now = clock.now()
    week_ago = now - timedelta(days=7)
    rows = [dict(plan_key=f"stale|{n}", campaign_id="test", account_id="a1", network="console", kind="queued",
                 language="en", text=f"Stale {n}", media=[], reply_in_thread=False,
                 due_at=week_ago + timedelta(seconds=n), status="planned", attempts=0, created_at=week_ago,
                 updated_at=week_ago) for n in range(STALE)]
    rows.append(dict(rows[0], plan_key="fresh", text="Due now", due_at=now - timedelta(minutes=5)))
    with app.engine.begin() as conn:
        conn.execute(insert(DeliveryRow), rows)
    assert Dispatcher(app).run_once() == 1
    assert net.texts == ["Due now"]
    with app.sessions() as s:
        missed = s.scalar(select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == Status.MISSED))
    assert missed == STALE
    [sample] = deliveries(app, plan_key="stale|0")
    assert "past the campaign's grace window of 60 min" in sample.error
    assert deliveries(app, plan_key="fresh")[0].status == Status.SENT
