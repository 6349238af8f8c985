"""Issue 23: a tick reads the posts coming due in its look-ahead, and the daemon runs each account when its
post comes due, its run taking the rows it was handed without reading them again. Whatever a person or
another worker does between the read and the due time is still obeyed: the claim re-checks it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.outbox.record import set_account
from bot.states import Status
from bot.worker.daemon import Daemon
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork
from tests.waiting import wait_for

LATER = '[[schedule]]\nid = "later"\nat = [2099-06-01T09:00:00]'


@pytest.fixture
def read_ahead(make_app: Any, campaigns_dir: Any, clock: Any) -> Iterator[tuple[Any, FakeNetwork, Daemon, int]]:
    """A post due in a second, read ahead by the daemon's tick (nothing due yet)."""
    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    net = FakeNetwork("a1")
    app = make_app(networks={"a1": net}, accounts=("a1",), poll_seconds=30)
    plan(app)
    lifecycle.queue(app, "test", clock.now() + timedelta(seconds=1), "Act now: {{ link }}", "tester")
    [row] = deliveries(app, kind="queued")
    daemon = Daemon(app)
    daemon._recovered_at = time.monotonic() + 3600  # no recovery pass in these tests
    daemon.dispatch_job()
    assert [u.id for u in daemon._upcoming] == [row.id]
    yield app, net, daemon, row.id
    daemon.pool.shutdown(wait=True)
    daemon.dispatcher.close()
    daemon._drop_tick_link()


def _come_due(daemon: Daemon, clock: Any) -> None:
    clock.advance(timedelta(seconds=1))
    daemon.dispatch_job()  # no tick: the account runs with the row it was handed
    wait_for(lambda: not daemon.busy, timeout=30)


def _status(app: Any, delivery_id: int) -> str:
    return next(r.status for r in deliveries(app) if r.id == delivery_id)


def test_a_post_read_ahead_goes_out_when_it_comes_due(read_ahead, clock):
    app, net, daemon, delivery_id = read_ahead
    _come_due(daemon, clock)
    assert [p.post.text.split(":")[0] for p in net.posts] == ["Act now"]
    assert _status(app, delivery_id) == Status.SENT


def test_a_post_read_ahead_whose_campaign_closed_meanwhile_is_not_sent(read_ahead, clock):
    app, net, daemon, delivery_id = read_ahead
    assert lifecycle.close(app, "test", "success").changed
    _come_due(daemon, clock)
    assert not any(p.post.text.startswith("Act now") for p in net.posts)
    assert _status(app, delivery_id) == Status.CANCELLED


def test_a_post_read_ahead_whose_account_was_held_meanwhile_waits(read_ahead, clock):
    """Another worker found the account rate limited after the tick read the post: the claim sees the hold."""
    app, net, daemon, delivery_id = read_ahead
    with app.engine.begin() as conn:  # as the dispatcher records a network's rate limit
        set_account(conn, "a1", clock.now(), rate_limited_until=clock.now() + timedelta(minutes=5))
    _come_due(daemon, clock)
    assert net.posts == []
    assert _status(app, delivery_id) == Status.PLANNED


def test_a_post_read_ahead_then_moved_later_goes_out_at_its_new_time(read_ahead, clock):
    app, net, daemon, delivery_id = read_ahead
    assert lifecycle.edit_delivery(app, delivery_id, at=clock.now() + timedelta(minutes=10)).changed
    _come_due(daemon, clock)
    assert net.posts == [] and _status(app, delivery_id) == Status.PLANNED
    clock.advance(timedelta(minutes=10))
    daemon.waker.wake_now()  # the safety tick's turn
    daemon.dispatch_job()
    wait_for(lambda: not daemon.busy, timeout=30)
    assert _status(app, delivery_id) == Status.SENT
