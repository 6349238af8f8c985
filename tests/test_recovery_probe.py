"""The daemon's recovery runs every few seconds: a cheap probe on its kept connection first says whether a
worker died or a lease ran out, and only then does recovery look for orphans. The probe must never miss one."""

from __future__ import annotations

from datetime import timedelta

from bot.outbox import workers
from bot.outbox.link import Link
from bot.states import ErrorKind, Status
from bot.worker.dispatch import Dispatcher
from tests.conftest import beat, deliveries
from tests.test_close_in_flight import one_account
from tests.test_dispatch import bootstrap_like


def _probe(app) -> bool:
    with Link(app.engine, auto=True) as link:
        return link.once(lambda conn: workers.anything_to_recover(conn, app.clock.now()))


def test_the_probe_finds_nothing_while_every_worker_beats_and_no_lease_ran_out(make_app, campaigns_dir, clock):
    app, _ = one_account(make_app, campaigns_dir, lease_seconds=300)
    clock.advance(timedelta(hours=1))
    beat(app)
    Dispatcher(app).claim_next("a1")  # in flight, its lease running, its worker alive
    assert not _probe(app)


def test_the_probe_finds_a_dead_worker_and_recovery_then_takes_over_its_send(make_app, campaigns_dir, clock):
    app, _ = one_account(make_app, campaigns_dir, lease_seconds=300)
    clock.advance(timedelta(hours=1))
    beat(app)
    claimed = Dispatcher(app).claim_next("a1")
    clock.advance(timedelta(seconds=11))  # its heartbeat stopped; the lease still runs
    assert _probe(app)
    other = bootstrap_like(app)
    with Link(other.engine, auto=True) as probe:
        assert Dispatcher(other).expire_leases(probe) == 1
    [row] = deliveries(app, id=claimed.id)
    assert (row.status, row.error_kind) == (Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN)


def test_the_probe_finds_a_lease_that_ran_out_for_a_claimer_that_never_beat(make_app, campaigns_dir, clock):
    app, _ = one_account(make_app, campaigns_dir, lease_seconds=5)
    clock.advance(timedelta(hours=1))
    claimed = Dispatcher(app).claim_next("a1")  # claimed by code that does not beat (a one-off run)
    assert not _probe(app)
    clock.advance(timedelta(seconds=6))
    assert _probe(app)
    with Link(app.engine, auto=True) as probe:
        assert Dispatcher(bootstrap_like(app)).expire_leases(probe) == 1
    [row] = deliveries(app, id=claimed.id)
    assert row.status == Status.UNKNOWN
