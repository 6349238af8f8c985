"""A week of downtime: tens of thousands of stale rows for one account are marked missed in a few set-based
statements, not one claim per row (issue 7, item 6), and in one transaction: the dispatcher reads on an
autocommit connection, where each UPDATE of an executemany committed on its own (50,000 commits: a minute of
fsyncs on SQLite before the account's due post could go)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from bot.outbox import claim
from bot.outbox.link import Link
from bot.states import Status
from bot.store.models import DeliveryRow
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork
from tests.test_dispatch import LATER

STALE = 50_000


def _stale_rows(n: int, since: datetime) -> list[dict[str, Any]]:
    return [dict(plan_key=f"stale|{i}", campaign_id="test", account_id="a1", network="console", kind="queued",
                 language="en", text=f"Stale {i}", media=[], reply_in_thread=False,
                 due_at=since + timedelta(seconds=i), status="planned", attempts=0, created_at=since,
                 updated_at=since) for i in range(n)]


def test_stale_rows_are_marked_missed_in_one_transaction_on_the_dispatchers_autocommit_link(
        make_app, campaigns_dir, clock, database_url):
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]', ask='ask = "Act"',
                   schedule=LATER, extra="grace_minutes = 60")
    app = make_app(networks={"a1": FakeNetwork("a1")}, accounts=("a1",))
    plan(app)
    now = clock.now()
    count = 1_000
    with app.engine.begin() as conn:
        conn.execute(insert(DeliveryRow), _stale_rows(count, now - timedelta(days=7)))
    with Link(app.engine, auto=True) as link:
        sqlite = app.engine.dialect.name == "sqlite"
        if sqlite:  # every commit writes at least one frame to the WAL: count them, none checkpointed away
            link.conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
            link.conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert link.once(lambda conn: claim.mark_missed(conn, "a1", now)) == count
        if sqlite:
            frames = link.conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()[1]
            assert frames < count / 2, f"{frames} WAL frames for {count} rows: a commit per row"
    with app.engine.connect() as conn:
        missed = conn.execute(select(func.count()).select_from(DeliveryRow)
                              .where(DeliveryRow.status == Status.MISSED)).scalar_one()
        assert missed == count
        if app.engine.dialect.name == "postgresql":  # rows written by one transaction share its id
            writers = conn.execute(text("SELECT count(DISTINCT xmin::text) FROM deliveries "
                                        "WHERE status = 'missed'")).scalar_one()
            assert writers == 1, f"{writers} transactions marked {count} rows"


def test_fifty_thousand_stale_rows_are_marked_missed_and_the_due_post_still_goes_out(make_app, campaigns_dir,
                                                                                     clock):
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]', ask='ask = "Act"',
                   schedule=LATER, extra="grace_minutes = 60")
    net = FakeNetwork("a1")
    app = make_app(networks={"a1": net}, accounts=("a1",))
    plan(app)
    now = clock.now()
    week_ago = now - timedelta(days=7)
    rows = _stale_rows(STALE, week_ago)
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
