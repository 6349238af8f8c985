"""No log floods (issue 7, item 8): a database outage is logged once, reminded at most every minute, and its
end noted; a worker-lock file that cannot be opened is one clear line; a clean stop removes the lock file."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.states import Status
from bot.worker.daemon import Daemon, SingleWorkerLock
from bot.worker.outage import OutageLog


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_logged_once_reminded_each_minute_and_its_end_noted(caplog):
    ticks = Ticks()
    outage = OutageLog(logging.getLogger("bot.test"), monotonic=ticks)
    caplog.set_level(logging.INFO, logger="bot.test")
    for _ in range(30):  # 30 s of failures from every account and job, one a second
        for where in ("dispatch", "account a1", "account a2", "plan"):
            outage.failed(where, "connection refused")
        ticks.now += 1
    assert [r.getMessage() for r in caplog.records] == [
        "database unavailable (dispatch): connection refused; retrying, posts wait"]
    ticks.now += 31  # a minute after the first line
    outage.failed("dispatch", "connection refused")
    outage.failed("dispatch", "connection refused")
    assert len(caplog.records) == 2 and "still unavailable after 61s" in caplog.records[1].getMessage()
    outage.ok()
    outage.ok()
    assert len(caplog.records) == 3 and "available again after 61s" in caplog.records[2].getMessage()


@pytest.mark.postgres
def test_the_daemon_logs_a_real_outage_once_and_a_line_when_it_ends(tmp_path, pg_database, caplog):
    from sqlalchemy.engine import make_url

    from bot.bootstrap import bootstrap
    from bot.config.settings import load_config
    from tests.tcpproxy import TcpProxy

    if pg_database is None:
        pytest.skip("PostgreSQL tests need $CAMPAIGN_BOT_TEST_POSTGRES_URL")
    url = make_url(pg_database)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\ndatabase_url = "{proxied}"\ncampaigns_dir = "{campaigns}"\n'
                   '[accounts.a1]\nnetwork = "console"\n', encoding="utf-8")
    app = bootstrap(load_config(cfg))
    daemon = Daemon(app)
    try:
        daemon.dispatch_job()
        caplog.set_level(logging.INFO, logger="bot")
        proxy.cut()
        for _ in range(20):
            daemon.dispatch_job()
            daemon.plan_job()
            daemon.heartbeat()
        unavailable = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(unavailable) == 1, [r.getMessage() for r in unavailable]
        proxy.restore()
        daemon.dispatch_job()
        assert "database available again" in caplog.records[-1].getMessage()
    finally:
        daemon.pool.shutdown(wait=True)
        app.engine.dispose()
        proxy.close()


def sqlite_app(make_app):
    app = make_app()
    return app, Path(app.engine.url.database + ".worker.lock")


def test_a_clean_stop_removes_the_worker_lock_file(make_app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the lock file is SQLite's")
    app, path = sqlite_app(make_app)
    lock = SingleWorkerLock(app)
    lock.acquire()
    assert path.exists()
    lock.release()
    assert not path.exists()
    again = SingleWorkerLock(app)  # and the next worker starts as usual
    again.acquire()
    again.release()


def test_a_worker_lock_that_cannot_be_opened_is_one_clear_line_not_a_traceback(make_app, database_url, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("the lock file is SQLite's")
    from bot.cli import cli

    app, path = sqlite_app(make_app)
    path.mkdir()  # unopenable for everyone, root included (a read-only file stops only other users)
    result = CliRunner().invoke(cli, ["run", "--config", str(tmp_path / "config.toml")])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "worker lock" in lines[0] and str(path) in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only file")
def test_a_read_only_worker_lock_file_is_one_clear_line(make_app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the lock file is SQLite's")
    from bot.errors import ConfigError

    app, path = sqlite_app(make_app)
    path.write_text("")
    path.chmod(0o444)
    with pytest.raises(ConfigError, match="worker lock .* cannot open it for writing"):
        Daemon(app).run()


def test_the_postgresql_pool_has_room_for_the_senders_and_the_lock_connection():
    """Each sender thread keeps a connection, and the account locks are held on one more; the pool counts
    them besides the dispatch loop's, the heartbeat's and the planner's."""
    from bot.store.db import POOL_BESIDES_SENDERS, make_engine

    for concurrency in (1, 8, 20):
        engine = make_engine("postgresql+psycopg://u@127.0.0.1:1/x", concurrency=concurrency)
        assert engine.pool.size() >= concurrency + POOL_BESIDES_SENDERS >= concurrency + 4  # type: ignore[attr-defined]
        engine.dispose()


def test_a_run_that_lost_its_account_lock_with_its_connection_stops_after_that_send(make_app, campaigns_dir,
                                                                                     clock, database_url):
    """The connection holding the account locks dies during a send (another worker may take the account now):
    the outcome is written, and the run ends there instead of sending on, lockless."""
    if not database_url.startswith("postgresql"):
        pytest.skip("account locks are PostgreSQL's")
    from sqlalchemy import text

    from bot.store.account_locks import account_key
    from bot.worker.dispatch import Dispatcher
    from bot.worker.plan import plan
    from tests import staff as lifecycle
    from tests.conftest import deliveries, write_campaign
    from tests.fakes import FakeNetwork

    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule='[[schedule]]\nid = "later"\nat = [2099-06-01T09:00:00]')
    killed: list[int] = []

    def kill_the_lock_holder(_post: object) -> None:
        if killed:
            return
        key = account_key("a1") & 0xFFFFFFFFFFFFFFFF
        with app.engine.connect() as conn:  # the connection holding a1's lock (pg_locks splits the key in two)
            killed.extend(conn.scalars(text(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid::bigint = :high AND objid::bigint = :low AND pid <> pg_backend_pid() "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                {"high": key >> 32, "low": key & 0xFFFFFFFF}))
            conn.commit()

    net = FakeNetwork("a1", on_publish=kill_the_lock_holder)
    app = make_app(networks={"a1": net}, accounts=("a1",))
    plan(app)
    for n in range(2):
        lifecycle.queue(app, "test", clock.now(), f"Post {n}", "tester")
    d = Dispatcher(app)
    try:
        assert d.run_account("a1") == 1
        assert killed == [True]
        assert net.texts == ["Post 0"]
        rows = deliveries(app, kind="queued")
        assert len(rows) == 2 and {r.status for r in rows} == {Status.SENT, Status.PLANNED}
    finally:
        d.close()


def _lock_is_free(app: Any, account_id: str) -> bool:
    """Whether another worker could take the account now (its lock taken and given back at once)."""
    from sqlalchemy import text

    from bot.store.account_locks import account_key

    with app.engine.connect() as conn:
        got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": account_key(account_id)}))
        if got:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": account_key(account_id)})
        conn.commit()
        return got


def _one_account_daemon(make_app: Any, campaigns_dir: Any, clock: Any, database_url: str, **bot: Any) -> Any:
    if not database_url.startswith("postgresql"):
        pytest.skip("account locks are PostgreSQL's")
    from bot.worker.plan import plan
    from tests import staff as lifecycle
    from tests.conftest import write_campaign
    from tests.fakes import FakeNetwork

    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule='[[schedule]]\nid = "later"\nat = [2099-06-01T09:00:00]')
    net = FakeNetwork("a1")
    app = make_app(networks={"a1": net}, accounts=("a1",), **bot)
    plan(app)
    lifecycle.queue(app, "test", clock.now(), "First", "tester")
    daemon = Daemon(app)
    assert daemon.dispatcher.run_account("a1") == 1  # its lock is now kept, idle, for its next run
    assert not _lock_is_free(app, "a1")
    return app, net, daemon


def test_stopping_lets_the_idle_account_locks_go_at_once(make_app, campaigns_dir, clock, database_url):
    from tests import staff as lifecycle

    app, net, daemon = _one_account_daemon(make_app, campaigns_dir, clock, database_url)
    try:
        daemon.stop()
        assert _lock_is_free(app, "a1")  # before the sends in flight end and the pool shuts down
        lifecycle.queue(app, "test", clock.now(), "Second", "tester")
        daemon.dispatcher.run_account("a1")  # a run ending while we stop gives its lock back at once
        assert _lock_is_free(app, "a1")
    finally:
        daemon.dispatcher.close()


def test_an_account_waiting_for_a_free_sender_keeps_no_idle_lock(make_app, campaigns_dir, clock, database_url):
    import threading

    from tests import staff as lifecycle

    app, net, daemon = _one_account_daemon(make_app, campaigns_dir, clock, database_url, concurrency=1)
    gate = threading.Event()
    try:
        with daemon.busy_lock:
            daemon.busy.add("elsewhere")
        daemon.pool.submit(gate.wait, 30)  # the only sender is busy: a1 waits in the queue
        lifecycle.queue(app, "test", clock.now(), "Second", "tester")
        daemon.dispatch_job()
        assert _lock_is_free(app, "a1")  # another worker may send a1's post meanwhile
    finally:
        gate.set()
        daemon.pool.shutdown(wait=True)
        daemon._drop_tick_link()
        daemon.dispatcher.close()
    assert net.texts == ["First", "Second"]  # and it ran once a sender was free


def test_an_outcome_write_keeps_trying_while_reconnecting_fails(make_app, campaigns_dir, clock, database_url):
    """The connection dies during a send and the database refuses the first reconnection: the outcome is still
    written (retried for most of the lease), not given up after the first failed reconnection."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the connection is killed with pg_terminate_backend")
    from sqlalchemy import event, text
    from sqlalchemy.exc import OperationalError

    from bot.worker.dispatch import Dispatcher
    from bot.worker.plan import plan
    from tests import staff as lifecycle
    from tests.conftest import deliveries, write_campaign
    from tests.fakes import FakeNetwork

    write_campaign(campaigns_dir, accounts='accounts = ["a1"]', languages='languages = ["en"]',
                   ask='ask = "Act now"', schedule='[[schedule]]\nid = "later"\nat = [2099-06-01T09:00:00]')
    refusals: list[int] = []

    def refuse_once(_conn: Any) -> None:
        if refusals == [0]:
            refusals.append(1)
            raise OperationalError("connect", {}, ConnectionRefusedError("database restarting"))

    def kill_the_lock_holder(_post: object) -> None:  # and the sender's own connection: every other one
        with app.engine.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND datname = current_database()"))
        refusals.append(0)  # the next connection is refused

    net = FakeNetwork("a1", on_publish=kill_the_lock_holder)
    app = make_app(networks={"a1": net}, accounts=("a1",), lease_seconds=60)
    plan(app)
    lifecycle.queue(app, "test", clock.now(), "Post", "tester")
    event.listen(app.engine, "engine_connect", refuse_once)
    d = Dispatcher(app)
    try:
        assert d.run_account("a1") == 1
    finally:
        d.close()
    assert refusals == [0, 1]
    [row] = deliveries(app, kind="queued")
    assert row.status == Status.SENT


def test_a_broken_lock_connection_lets_every_lock_go(make_app, database_url):
    """Letting the locks go goes on past a connection the driver already knows is broken (its error raised
    before any statement runs): the accounts' locks are free, so other workers may take them."""
    if not database_url.startswith("postgresql"):
        pytest.skip("account locks are PostgreSQL's")
    from bot.store.account_locks import AccountLocks

    app = make_app()
    locks = AccountLocks(app.engine, keep=10)
    for account_id in ("a1", "a2"):
        hold = locks.take(account_id)
        assert hold is not None and hold.fresh
        locks.give_back(hold)
    assert not _lock_is_free(app, "a1") and not _lock_is_free(app, "a2")
    assert locks._conn is not None
    locks._conn.connection.driver_connection.close()  # broken under SQLAlchemy's feet: no statement can run on it
    locks.close()
    assert _lock_is_free(app, "a1") and _lock_is_free(app, "a2")


def test_every_account_lock_is_held_on_one_connection_and_kept_between_runs(make_app, campaigns_dir, clock,
                                                                            database_url):
    """Issue 23: a run took its account's lock on a connection of its own (a pool checkout with its pre-ping,
    the lock, later the unlock) whenever more accounts were busy than the senders: now one connection holds
    them all, and an account's next run takes nothing (no statement on that connection)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("account locks are PostgreSQL's")
    from sqlalchemy import text

    from bot.worker.dispatch import Dispatcher
    from bot.worker.plan import plan
    from tests import staff as lifecycle
    from tests.conftest import write_campaign
    from tests.fakes import FakeNetwork

    accounts = ("a1", "a2", "a3")
    write_campaign(campaigns_dir, accounts=f"accounts = {list(accounts)!r}".replace("'", '"'),
                   languages='languages = ["en"]', ask='ask = "Act now"',
                   schedule='[[schedule]]\nid = "later"\nat = [2099-06-01T09:00:00]')
    app = make_app(networks={a: FakeNetwork(a) for a in accounts}, accounts=accounts, concurrency=1)
    plan(app)
    d = Dispatcher(app)
    try:
        lifecycle.queue(app, "test", clock.now(), "First", "tester")
        assert sum(d.run_account(a) for a in accounts) == 3
        with app.engine.connect() as conn:
            holders = conn.execute(text(
                "SELECT pid, count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid() "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY pid")).all()
        assert len(holders) == 1 and holders[0][1] == 3  # one connection, every account's lock (concurrency 1)
        assert d.locks._conn is not None
        lock_pid = d.locks._conn.connection.driver_connection.info.backend_pid
        assert holders[0][0] == lock_pid
        calls_before = _calls_on(app, lock_pid)
        lifecycle.queue(app, "test", clock.now(), "Second", "tester")
        assert sum(d.run_account(a) for a in accounts) == 3
        assert _calls_on(app, lock_pid) == calls_before  # the kept locks cost the next runs nothing
    finally:
        d.close()
    assert all(_lock_is_free(app, a) for a in accounts)


def _calls_on(app: Any, pid: int) -> str:
    """What the backend ``pid`` last ran and when it began (it changes with every statement it runs)."""
    from sqlalchemy import text

    with app.engine.connect() as conn:
        row = conn.execute(text("SELECT query, query_start FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).one()
        return f"{row[0]} @ {row[1]}"


def test_while_another_process_stores_the_campaigns_the_worker_plans_again_shortly(make_app, campaigns_dir,
                                                                                  database_url, clock):
    """One planner at a time on SQLite too: the web app and commands store the campaign files from processes
    of their own, and two first starts inserting the same campaign crashed one of them (UNIQUE constraint).
    The planner's lock is a file lock there (held here as another process would hold it: flock is per open
    file); while it is held the worker's plan skips its turn and tries again in seconds, and a command's
    sync waits for it."""
    import threading

    from bot.cli.base import sync
    from bot.store.locks import PLAN_LOCK, advisory_lock
    from bot.worker.plan import plan
    from tests.conftest import write_campaign

    write_campaign(campaigns_dir)
    app = make_app()
    daemon = Daemon(app)
    synced = threading.Event()
    try:
        with advisory_lock(app.engine, PLAN_LOCK, wait=True) as got:
            assert got
            assert plan(app).busy
            daemon.plan_job()
            retry = daemon.scheduler.get_job("plan-retry")
            assert retry is not None and retry.trigger.run_date > clock.now()
            waiting = threading.Thread(target=lambda: (sync(app), synced.set()), daemon=True)
            waiting.start()
            assert not synced.wait(0.5)  # a command's sync waits for the lock
        waiting.join(timeout=60)
        assert synced.is_set()
        assert not plan(app).busy and plan(app).issues == []
    finally:
        daemon.dispatcher.close()


def test_a_sweep_lets_go_exactly_the_locks_idle_for_longer_than_the_idle_time(make_app, database_url):
    """The sweep stops at the first lock used recently (the idle locks are kept oldest first): an account used
    again goes to the back, so a lock taken early but used lately is kept, and one used once long ago is let go
    even when it came after it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("account locks are PostgreSQL's")
    from bot.store.account_locks import AccountLocks

    now = [0.0]
    app = make_app()
    locks = AccountLocks(app.engine, keep=10, idle_seconds=30.0, monotonic=lambda: now[0])
    try:
        for account_id in ("a1", "a2", "a3"):
            hold = locks.take(account_id)
            assert hold is not None
            locks.give_back(hold)
            now[0] += 1.0
        now[0] = 20.0
        hold = locks.take("a1")  # a1 runs again: used last
        assert hold is not None and not hold.fresh
        locks.give_back(hold)
        now[0] = 33.0  # a2 and a3 idle 32 and 31 s, a1 13 s
        locks.sweep()
        assert locks.held == {"a1"}
        assert _lock_is_free(app, "a2") and _lock_is_free(app, "a3") and not _lock_is_free(app, "a1")
        now[0] = 51.0
        locks.sweep()
        assert locks.held == set() and _lock_is_free(app, "a1")
    finally:
        locks.close()


def test_runs_that_start_together_take_their_accounts_locks_in_one_statement(make_app, database_url):
    """Issue 23: a wave of supporters' boosts starts a run for a new account every few milliseconds. Each took its
    lock in a statement of its own on the one lock connection, in turn, under a mutex a finishing run waited for
    too: the wave drained at that connection's rate. Runs that start while a statement is under way now have
    their locks taken together in the next one; each gets its own answer (held, or another worker's)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("account locks are PostgreSQL's")
    import threading

    from sqlalchemy import event

    from bot.store.account_locks import AccountLocks

    app = make_app()
    other = AccountLocks(app.engine, keep=10)  # another worker's: it holds a4
    mine = AccountLocks(app.engine, keep=10)
    tries: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if "pg_try_advisory_lock" in statement:
            tries.append(statement)

    event.listen(app.engine, "before_cursor_execute", count)
    try:
        assert other.take("a4") is not None
        tries.clear()
        accounts = ["a1", "a2", "a3", "a4", "a5"]
        got: dict[str, object] = {}
        with mine._talking:  # a statement under way on the lock connection: the runs wait for it together
            threads = [threading.Thread(target=lambda a=a: got.__setitem__(a, mine.take(a))) for a in accounts]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 60  # bounded: every run is waiting (about 0.01 s on a quiet machine)
            while len(mine._wanted) < len(accounts):
                if time.monotonic() > deadline:
                    pytest.fail(f"only {len(mine._wanted)} of {len(accounts)} runs started waiting in 60 s")
                time.sleep(0.01)
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a run still waits for its lock"
        assert len(tries) == 1  # one statement for the five
        assert got["a4"] is None and all(getattr(got[a], "fresh", False) for a in accounts if a != "a4")
        assert mine.held == {"a1", "a2", "a3", "a5"}
        assert not any(_lock_is_free(app, a) for a in accounts)
        mine.close()
        assert all(_lock_is_free(app, a) for a in ("a1", "a2", "a3", "a5")) and not _lock_is_free(app, "a4")
    finally:
        event.remove(app.engine, "before_cursor_execute", count)
        mine.close()
        other.close()
