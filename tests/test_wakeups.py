"""The daemon wakes when a post is due, not at its safety tick (issue 9): a due time that passes while a
tick runs is caught at the end of that tick, and wake-ups set milliseconds apart are never dropped. The
daemon runs in-process on the system clock with a safety tick far longer than the test waits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.clock import SystemClock
from bot.worker.daemon import Daemon
from bot.worker.plan import plan
from tests import staff as lifecycle
from tests.conftest import write_campaign
from tests.fakes import FakeNetwork
from tests.waiting import wait_for

LATER = '[[schedule]]\nid = "later"\nat = [2099-06-01T09:00:00]'
SAFETY_TICK = 300  # seconds: far beyond every wait below, so only a wake-up can send the posts in time
ACCOUNTS = tuple(f"a{i}" for i in range(1, 6))


@pytest.fixture
def clock() -> SystemClock:  # type: ignore[override]
    return SystemClock()


@pytest.fixture
def running(make_app: Any, campaigns_dir: Any,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, FakeNetwork], Daemon]]:
    """An app with five accounts, and its daemon (started by `start`, in a thread; the fixture stops it)."""
    write_campaign(campaigns_dir, accounts="accounts = [" + ", ".join(f'"{a}"' for a in ACCOUNTS) + "]",
                   languages='languages = ["en"]', ask='ask = "Act now"', schedule=LATER)
    nets = {a: FakeNetwork(a) for a in ACCOUNTS}
    app = make_app(networks=nets, accounts=ACCOUNTS, poll_seconds=SAFETY_TICK)
    plan(app)
    monkeypatch.setattr("signal.signal", lambda *_: None)  # signals are the main thread's; stop() ends it here
    daemon = Daemon(app)
    yield app, nets, daemon
    daemon.stop()


def start(daemon: Daemon) -> threading.Thread:
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    return thread


def sent(nets: dict[str, FakeNetwork]) -> list[str]:
    return sorted(s.post.text for net in nets.values() for s in net.posts)


def test_a_post_that_comes_due_while_a_tick_runs_is_sent_at_the_end_of_that_tick(running):
    app, nets, daemon = running
    first = datetime.now(UTC) + timedelta(seconds=1.5)
    second = first + timedelta(milliseconds=300)
    lifecycle.queue(app, "test", first, "First", "tester", account="a1")
    lifecycle.queue(app, "test", second, "Second", "tester", account="a2")

    def slow_next_due(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        """The tick that sends the first post takes until the second is due, when it looks for the next."""
        if "min(deliveries.due_at)" in statement and datetime.now(UTC) >= first:
            wait_for(lambda: datetime.now(UTC) > second + timedelta(milliseconds=50), timeout=5, poll=0.01)

    event.listen(app.engine, "before_cursor_execute", slow_next_due)
    start(daemon)
    assert wait_for(lambda: len(sent(nets)) == 2, timeout=15, poll=0.05), sent(nets)


def test_posts_due_milliseconds_apart_all_go_out_without_waiting_for_the_safety_tick(running):
    app, nets, daemon = running
    first = datetime.now(UTC) + timedelta(seconds=1.5)
    for n in range(20):  # 2 ms apart, round the five accounts: each wake-up is set while the last one runs
        lifecycle.queue(app, "test", first + timedelta(milliseconds=2 * n), f"Post {n:02d}", "tester",
                        account=ACCOUNTS[n % len(ACCOUNTS)])
    start(daemon)
    assert wait_for(lambda: len(sent(nets)) == 20, timeout=15, poll=0.05), sent(nets)
    assert sent(nets) == [f"Post {n:02d}" for n in range(20)]


def test_the_waker_keeps_the_earliest_wake_up_and_consumes_it_only_when_due():
    from bot.worker.wakeups import Waker

    now = [100.0]
    waker = Waker(monotonic=lambda: now[0])
    stopping = threading.Event()
    waker.wake_in(5)
    waker.wake_in(9)  # later: the earlier one stands
    assert waker.pending == 5
    waker.wake_in(0.5)  # earlier: moves it forward
    assert waker.pending == 0.5
    now[0] += 1
    assert waker.wait(10, stopping) is True and waker.pending is None
    stopping.set()
    waker.wake_in(3)
    assert waker.wait(10, stopping) is False and waker.pending == 3  # a stop does not consume it


def test_a_post_queued_for_now_wakes_a_postgresql_daemon_at_once(running, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite has one worker and its safety tick")
    from sqlalchemy import text

    app, nets, daemon = running
    start(daemon)

    def listening() -> bool:
        with app.engine.connect() as conn:
            return bool(conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")))

    assert wait_for(listening, timeout=15, poll=0.1)
    lifecycle.queue(app, "test", datetime.now(UTC), "Right now", "tester", account="a3")
    assert wait_for(lambda: sent(nets) == ["Right now"], timeout=15, poll=0.05), sent(nets)


def test_a_tick_that_fails_unexpectedly_does_not_stop_the_loop(running, caplog):
    """Any error of a tick (here the pool's TimeoutError from recovery, once) is logged; the next tick runs."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    app, nets, daemon = running
    recover = daemon.dispatcher.expire_leases
    failures: list[int] = []

    def expire_once() -> Any:
        if not failures:
            failures.append(1)
            raise PoolTimeout("QueuePool limit reached")
        return recover()

    daemon.dispatcher.expire_leases = expire_once  # type: ignore[method-assign]
    start(daemon)
    assert wait_for(lambda: failures, timeout=15, poll=0.05)
    lifecycle.queue(app, "test", datetime.now(UTC) + timedelta(seconds=1), "After the failure", "tester",
                    account="a4")
    daemon.waker.wake_now()  # as the NOTIFY does on PostgreSQL (a dead loop would hear nothing)
    assert wait_for(lambda: sent(nets) == ["After the failure"], timeout=20, poll=0.05), sent(nets)
    assert "dispatch tick failed" in caplog.text


def test_a_heartbeat_that_fails_unexpectedly_does_not_stop_the_beats(running, caplog):
    """A worker whose heartbeat thread died would look dead while it sends: others would free its posts."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    _app, _nets, daemon = running
    beat, calls = daemon.heartbeat, []

    def beat_failing_once() -> None:
        calls.append(1)
        if len(calls) == 2:  # the first beat of the heartbeat thread (the first is the start's own)
            raise PoolTimeout("QueuePool limit reached")
        beat()

    daemon.heartbeat = beat_failing_once  # type: ignore[method-assign]
    start(daemon)
    assert wait_for(lambda: len(calls) >= 3, timeout=30, poll=0.1), calls  # the beat after the failure
    assert "heartbeat failed" in caplog.text


class RefusingEngine:
    """The test database's engine, whose first ``refusals`` raw connections are refused."""

    def __init__(self, engine: Any, refusals: int) -> None:
        self.engine, self.dialect, self.refusals = engine, engine.dialect, refusals

    def raw_connection(self) -> Any:
        if self.refusals:
            self.refusals -= 1
            raise ConnectionRefusedError("refused")
        return self.engine.raw_connection()


def _listener_pids(app: Any) -> list[int]:
    from sqlalchemy import text

    with app.engine.connect() as conn:
        return list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN %' "
                                      "AND datname = current_database()")))


def test_the_listener_backs_off_afresh_after_it_listened_and_renews_its_connection(make_app, database_url,
                                                                                  caplog):
    """Failures before a LISTEN back off (0.01, 0.02, ... s); once it listened, a lost connection is retried
    after the first delay again; and the connection is replaced every refresh_seconds (half-open ones)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    from sqlalchemy import text

    from bot.worker.wakeups import DueListener

    app = make_app()
    heard: list[int] = []
    stopping = threading.Event()
    listener = DueListener(RefusingEngine(app.engine, 5), lambda: heard.append(1), stopping,  # type: ignore[arg-type]
                           first_delay=0.01, refresh_seconds=600)
    listener.start()
    try:
        assert wait_for(lambda: heard, timeout=15, poll=0.05)
        assert [r.getMessage().split("again in ")[1][:4] for r in caplog.records if r.levelname == "WARNING"] == [
            "0.01", "0.02", "0.04", "0.08", "0.16"]
        caplog.clear()
        pid = listener._raw.driver_connection.info.backend_pid  # this listener's, not an earlier test's
        assert pid in _listener_pids(app)
        with app.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        assert wait_for(lambda: len(heard) >= 2, timeout=15, poll=0.05)
        assert [r.getMessage().split("again in ")[1][:4] for r in caplog.records if r.levelname == "WARNING"] == [
            "0.01"]
        listener.refresh_seconds = 0.2  # the connection is replaced, no failure needed
        assert wait_for(lambda: len(heard) >= 4, timeout=15, poll=0.05)
    finally:
        stopping.set()
        listener.thread.join(timeout=15)
