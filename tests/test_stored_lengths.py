"""A post's length is measured when it is planned or edited and stored on its row (migration 0020); a send
trusts it when it was measured the way the account counts, and measures only a row without one."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import update

from bot.networks.registry import measure
from bot.outbox.tables import DELIVERIES
from bot.states import Kind, Status
from bot.store.db import make_engine, upgrade
from bot.store.models import Base
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork

LATER = '[[schedule]]\nid = "later"\nat = [2027-06-01T09:00:00]'


class CountingNetwork(FakeNetwork):
    """The console's rules (the accounts' network in these tests), counting each time it is asked a length."""

    kind: ClassVar[str] = "console"

    def __init__(self, account_id: str, max_length: int = 500) -> None:
        super().__init__(account_id, max_length=max_length)
        self.measured: list[str] = []

    def length(self, text: str) -> int:
        self.measured.append(text)
        return super().length(text)

    @property
    def measured_as(self) -> str | None:
        return self.kind


def one_account(make_app, campaigns_dir, clock, net: FakeNetwork):
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    app = make_app(networks={"a1": net}, accounts=("a1",))
    plan(app)
    return app


def test_the_migration_adds_exactly_the_length_columns(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    flat = [x for d in diff for x in (d if isinstance(d, list) else [d])]
    ours = [d for d in flat if "text_length" in repr(d) or "length_for" in repr(d)]
    assert ours == []
    assert {"text_length", "length_for"} <= set(DELIVERIES.c.keys())
    engine.dispose()


def test_planned_rows_carry_their_texts_length_as_their_network_counts_it(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app()
    plan(app)
    rows = deliveries(app, kind=Kind.CALL_TO_ACTION)
    assert rows
    assert all((r.text_length, r.length_for) == (measure(r.network, r.text), r.network) for r in rows)


def test_a_send_uses_the_stored_length_and_does_not_measure_again(make_app, campaigns_dir, clock):
    net = CountingNetwork("a1")
    app = one_account(make_app, campaigns_dir, clock, net)
    lifecycle.queue(app, "test", clock.now(), "Free them now {{ link }}", "tester")
    [row] = deliveries(app, kind=Kind.QUEUED)
    assert (row.text_length, row.length_for) == (len("Free them now https://example.org/ua"), "console")
    assert Dispatcher(app).run_once() == 1
    assert net.texts == ["Free them now https://example.org/ua"]
    assert net.measured == []


def test_a_row_without_a_stored_length_or_measured_for_another_network_is_measured_at_send(
        make_app, campaigns_dir, clock):
    net = CountingNetwork("a1")
    app = one_account(make_app, campaigns_dir, clock, net)
    lifecycle.queue(app, "test", clock.now(), "Planned before migration 0020", "tester")
    lifecycle.queue(app, "test", clock.now(), "Measured as X counts", "tester")
    first, second = deliveries(app, kind=Kind.QUEUED)
    with app.engine.begin() as conn:
        conn.execute(update(DELIVERIES).where(DELIVERIES.c.id == first.id).values(text_length=None, length_for=None))
        conn.execute(update(DELIVERIES).where(DELIVERIES.c.id == second.id).values(text_length=9_999, length_for="x"))
    assert Dispatcher(app).run_once() == 2
    assert net.measured == ["Planned before migration 0020", "Measured as X counts"]
    assert [r.status for r in deliveries(app, kind=Kind.QUEUED)] == [Status.SENT, Status.SENT]


def test_an_account_that_counts_its_own_way_measures_every_send(make_app, campaigns_dir, clock):
    class OwnCount(CountingNetwork):  # overrides length() without saying which measure it matches
        @property
        def measured_as(self) -> str | None:
            return FakeNetwork.measured_as.fget(self)  # type: ignore[attr-defined]

    net = OwnCount("a1")
    app = one_account(make_app, campaigns_dir, clock, net)
    lifecycle.queue(app, "test", clock.now(), "Counted by the account", "tester")
    assert Dispatcher(app).run_once() == 1
    assert net.measured == ["Counted by the account"]


def test_a_stored_length_over_the_accounts_limit_is_refused_as_too_long(make_app, campaigns_dir, clock):
    net = CountingNetwork("a1", max_length=20)
    app = one_account(make_app, campaigns_dir, clock, net)
    lifecycle.queue(app, "test", clock.now(), "A text of more than twenty characters", "tester")
    Dispatcher(app).run_once()
    [row] = deliveries(app, kind=Kind.QUEUED)
    assert row.status == Status.FAILED and "37 characters, over the account's limit of 20" in row.error
    assert net.posts == [] and net.measured == []


def test_an_edit_measures_the_new_text_and_the_send_trusts_it(make_app, campaigns_dir, clock):
    net = CountingNetwork("a1")
    app = one_account(make_app, campaigns_dir, clock, net)
    lifecycle.queue(app, "test", clock.now(), "Short", "tester")
    [row] = deliveries(app, kind=Kind.QUEUED)
    assert row.text_length == 5
    lifecycle.edit_delivery(app, row.id, "tester", text="A longer text: {{ ask }} {{ link }}")
    [edited] = deliveries(app, id=row.id)
    assert edited.text == "A longer text: Act now https://example.org/ua"
    assert (edited.text_length, edited.length_for) == (len(edited.text), "console")
    assert Dispatcher(app).run_once() == 1
    assert net.texts == [edited.text] and net.measured == []


def test_an_edited_campaign_file_brings_its_planned_rows_new_lengths(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    app = make_app()
    plan(app)
    before = {r.id: r.text_length for r in deliveries(app, kind=Kind.CALL_TO_ACTION, status=Status.PLANNED)}
    write_campaign(campaigns_dir, ask='ask = { es = "Actúe ya, por favor, hoy mismo", en = "Act now, please, today" }')
    plan(app)
    after = deliveries(app, kind=Kind.CALL_TO_ACTION, status=Status.PLANNED)
    assert any(before[r.id] != r.text_length for r in after if r.id in before)
    assert all(r.text_length == measure(r.network, r.text) for r in after)
