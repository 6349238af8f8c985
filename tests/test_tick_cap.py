"""Issue 23: a dispatch tick reads a bounded number of accounts (a supporters' wave has one per supporter: a
tick read 10,000 rows while it drained). The accounts a cut read did not reach come first at the next tick,
which comes as soon as the senders want more, not at the next interval: none starves, whatever the
accounts at the front do, and none runs twice at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from bot.outbox import tick as ticks
from bot.states import Status
from bot.worker.daemon import Daemon
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import deliveries, write_campaign
from tests.fakes import FakeNetwork
from tests.waiting import wait_for

LATER = '[[schedule]]\nid = "later"\nat = [2099-06-01T09:00:00]'
ACCOUNTS = tuple(f"a{n}" for n in range(8))
STUCK = ("a0", "a1")  # first in the accounts' order: their sends hang until the test lets them go


def _app(make_app: Any, campaigns_dir: Any, nets: dict[str, FakeNetwork], **settings: Any) -> Any:
    listed = ", ".join(f'"{a}"' for a in nets)
    write_campaign(campaigns_dir, accounts=f"accounts = [{listed}]", languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule=LATER)
    extra = "".join(f'[accounts.{a}]\nnetwork = "console"\n' for a in nets)
    app = make_app(networks=nets, accounts=(), config_extra=extra, **settings)
    plan(app)
    return app


def test_successive_capped_ticks_reach_every_due_account_in_turn(make_app, campaigns_dir, clock):
    app = _app(make_app, campaigns_dir, {a: FakeNetwork(a) for a in ACCOUNTS[:5]})
    lifecycle.queue(app, "test", clock.now(), "Act now: {{ link }}", "tester")
    reached, after = [], None
    with app.engine.connect() as conn:
        for _ in range(4):
            tick = ticks.tick(conn, clock.now(), cap=2, after=after)
            reached.append(tick.runs)
            after = tick.cut_after
        assert ticks.tick(conn, clock.now(), cap=5).cut_after is None  # all of them: not cut
        assert ticks.tick(conn, clock.now()).runs == list(ACCOUNTS[:5])  # no cap: every one
    assert reached == [["a0", "a1"], ["a2", "a3"], ["a0", "a4"], ["a1", "a2"]]  # a4, then round again


def test_a_tick_cut_at_its_cap_serves_every_account_none_starved_none_run_twice_at_once(
        make_app, campaigns_dir, clock):
    gate = threading.Event()

    def hang(_post: Any) -> None:
        assert gate.wait(60)

    nets = {a: FakeNetwork(a, on_publish=hang if a in STUCK else None) for a in ACCOUNTS}
    app = _app(make_app, campaigns_dir, nets, poll_seconds=30, concurrency=4)
    for n in range(3):
        lifecycle.queue(app, "test", clock.now(), f"Post {n}: {{{{ link }}}}", "tester")
    daemon = Daemon(app)
    daemon._recovered_at = time.monotonic() + 3600  # no recovery pass: only ticks and runs
    daemon._cap = 2  # the stuck accounts alone would fill every tick read from the start
    running: Counter[str] = Counter()
    twice: list[str] = []
    lock = threading.Lock()
    run_account = daemon.dispatcher.run_account

    def watched(account_id: str, *args: Any, **kwargs: Any) -> int:
        with lock:
            running[account_id] += 1
            if running[account_id] > 1:
                twice.append(account_id)
        try:
            return run_account(account_id, *args, **kwargs)
        finally:
            with lock:
                running[account_id] -= 1

    daemon.dispatcher.run_account = watched  # type: ignore[method-assign]
    others = [a for a in ACCOUNTS if a not in STUCK]
    try:
        daemon.dispatch_job()
        deadline = time.monotonic() + 30
        while any(len(nets[a].posts) < 3 for a in others) and time.monotonic() < deadline:
            # Only the loop's own wake-ups: the fake clock stands still, the safety tick is 30 s away.
            daemon.waker.wait(1.0, daemon.stopping)
            daemon.dispatch_job()
        assert {a: len(nets[a].posts) for a in others} == dict.fromkeys(others, 3)  # while a0 and a1 hang
        gate.set()
        deadline = time.monotonic() + 30
        while any(len(n.posts) < 3 for n in nets.values()) and time.monotonic() < deadline:
            daemon.waker.wait(1.0, daemon.stopping)
            daemon.dispatch_job()
        wait_for(lambda: not daemon.busy, timeout=30)
    finally:
        gate.set()
        daemon.pool.shutdown(wait=True)
        daemon.dispatcher.close()
        daemon._drop_tick_link()
    for account, net in nets.items():  # each post once, in order
        assert [s.post.text.split(":")[0] for s in net.posts] == ["Post 0", "Post 1", "Post 2"], account
    assert all(r.status == Status.SENT for r in deliveries(app, kind="queued"))
    assert not twice
