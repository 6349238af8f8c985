"""A fleet of Mastodon accounts on one fake server (its own process, so its CPU is not ours): the config, the
posts queued at given times, the real daemon run until they are out, and a bare Mastodon.py client posting
the same with the same concurrency, for comparison."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from mastodon import Mastodon
from sqlalchemy import ColumnElement, and_, func, or_, select

from bench.common import write_world
from bot.bootstrap import App
from bot.networks.mastodon.transport import environment_once, untyped_post
from bot.outbox import staff
from bot.states import ErrorKind, Status
from bot.store.models import DeliveryRow
from bot.worker.daemon import Daemon
from tests import staff as lifecycle

LIFTED = "rate_budget = [{ limit = 1000000, per_seconds = 60 }]\n"
CAMPAIGN = "c00000"


def config(folder: Path, url: str, server: str, accounts: int, concurrency: int, poll_seconds: float = 2) -> Path:
    """One campaign posted by ``accounts`` Mastodon accounts on ``server``, rate budgets lifted. Each account has
    its own token ($BENCH_TOKEN_M<i>, set here for this process and the workers it starts), so each is its own
    account on the fake server: with one token they were one account, and reading one back after a crash found
    another's post of the same text (two deliveries recorded sent with one status id)."""
    cfg = write_world(folder, 1, accounts=1, database_url=url, concurrency=concurrency, poll_seconds=poll_seconds)
    campaign = folder / "campaigns" / f"{CAMPAIGN}.toml"
    ids = ", ".join(f'"m{i}"' for i in range(accounts))
    campaign.write_text(campaign.read_text().replace('accounts = ["a0"]', f"accounts = [{ids}]")
                        .replace('cron = "0 9 * * *"', 'at = [2030-01-01T09:00:00]')
                        .replace('cron = "0 13 * * 1-5"', 'at = [2030-01-02T09:00:00]')
                        .replace('cron = "30 17 * * *"', 'at = [2030-01-03T09:00:00]'))
    text = cfg.read_text().replace('[accounts.a0]\nnetwork = "console"\n', "")
    for i in range(accounts):
        os.environ[f"BENCH_TOKEN_M{i}"] = f"bench-token-m{i}"
        text += (f'[accounts.m{i}]\nnetwork = "mastodon"\napi_base_url = "{server}"\n'
                 f'access_token_env = "BENCH_TOKEN_M{i}"\nmastodon_version = "4.5.0"\n{LIFTED}')
    cfg.write_text(text)
    return cfg


def queue(app: App, times: list[datetime], accounts: int) -> None:
    """One post per time, round the accounts in turn (queued one instant per account, then re-timed)."""
    per_account = -(-len(times) // accounts)
    for n in range(per_account):
        lifecycle.queue(app, CAMPAIGN, times[0], f"Delivery {n} for {{{{ ask }}}}", "bench")
    with app.engine.begin() as conn:
        ids = list(conn.scalars(select(DeliveryRow.id).where(DeliveryRow.kind == "queued").order_by(DeliveryRow.id)))
        changes = [{"id": i, "due_at": t} for i, t in zip(ids, times, strict=False)]
        staff.update_planned(conn, changes, app.clock.now())
        extra = ids[len(times):]
        if extra:
            staff.cancel_unsent(conn, CAMPAIGN, app.clock.now(), "bench: not needed", ids=extra)


def unsettled() -> ColumnElement[bool]:
    """Not yet out: planned or sending, or `unknown` with the worker's read-back of the account still pending
    (a dead worker's posts are flagged so at once and settled by the account's next run: counting them as done
    ended a takeover before their read-back, and showed them `unknown`). `unknown` left to a person is settled."""
    return or_(DeliveryRow.status.in_((Status.PLANNED, Status.SENDING)), reading_back())


def reading_back() -> ColumnElement[bool]:
    """`unknown` whose read-back is still pending (not a person's to settle)."""
    return and_(DeliveryRow.status == Status.UNKNOWN, DeliveryRow.error_kind == ErrorKind.OUTCOME_UNKNOWN,
                DeliveryRow.not_before.is_not(None))


def left(app: App) -> int:
    with app.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(DeliveryRow.status.in_(("planned", "sending")),
                                                          DeliveryRow.kind == "queued")) or 0)


class StoppedEarly(Exception):
    """The daemon stopped (or was stopped) before the posts were out: the benchmark says why, not a KeyError."""


def run_daemon(app: App, done: Callable[[], bool], start_at: datetime, check_every: float = 0.1,
               limit_s: float = 1800.0) -> tuple[float, float]:
    """The real daemon (`campaign-bot run`'s loop, in this process's main thread), started before the first
    post is due and stopped once ``done``. Returns (CPU seconds of this process, wall seconds), both from
    ``start_at`` (the first post's due time) until ``done`` was seen: the daemon's start and first plan are
    not counted, its wake-ups, ticks and idle time in between are. The watcher (one count per check) is the
    benchmark's own: its thread's CPU is taken out.
    Raises StoppedEarly, saying why, when the daemon stopped first, the watcher's count failed, or the posts
    were not out after ``limit_s``."""
    daemon = Daemon(app)
    marks: dict[str, float] = {}
    why: list[str] = []
    by_thread.clear()
    by_job.clear()
    jobs = _time_jobs(daemon)

    def watch() -> None:
        wait = (start_at - app.clock.now()).total_seconds()
        if wait > 0:
            daemon.stopping.wait(wait)
        marks.update(cpu0=time.process_time(), wall0=time.perf_counter())
        threads0, jobs0 = thread_cpu(), dict(jobs)
        while not daemon.stopping.wait(check_every):
            try:
                finished = done()
            except Exception as exc:  # noqa: BLE001 - reported as the reason the run stopped
                why.append(f"the benchmark's count of what is left failed: {exc!r}")
                daemon.stop()
                return
            if finished:
                marks.update(cpu1=time.process_time(), wall1=time.perf_counter())
                by_thread.update({k: v - threads0.get(k, 0.0) for k, v in thread_cpu().items()})
                by_job.update({k: v - jobs0.get(k, 0.0) for k, v in jobs.items()})
                daemon.stop()
            elif time.perf_counter() - marks["wall0"] > limit_s:
                why.append(f"posts still due {limit_s:.0f} s after the first was due")
                daemon.stop()

    for account in app.config.accounts:  # clients and instance limits, as in a daemon that has run a while
        app.network(account).limit()
    threading.Thread(target=watch, name="watcher", daemon=True).start()
    try:
        daemon.run()
    except Exception as exc:  # noqa: BLE001 - reported as the reason the run stopped
        daemon.stop()
        raise StoppedEarly(f"the daemon raised {exc!r}") from exc
    if "cpu1" not in marks:
        reason = why[0] if why else "the daemon stopped before the posts were out (see its log above)"
        raise StoppedEarly(reason)
    # The watcher is the benchmark's, not the daemon's: its counts are not the daemon's CPU.
    return marks["cpu1"] - marks["cpu0"] - by_thread.get("watcher", 0.0), marks["wall1"] - marks["wall0"]


by_thread: dict[str, float] = {}
"""CPU seconds of each kind of thread during the last `run_daemon` (account threads summed): where it goes."""


by_job: dict[str, float] = {}
"""CPU seconds of each of the scheduler's jobs (reach, amplify, watch, plan: they share its executor's threads,
"ThreadPoolExecutor" in `by_thread`) during the last `run_daemon`."""


def _time_jobs(daemon: Daemon) -> dict[str, float]:
    """The daemon's scheduler jobs, each wrapped to add its thread's CPU time to the dict returned (by job id)."""
    totals: dict[str, float] = {}
    lock = threading.Lock()
    add_job = daemon.scheduler.add_job

    def timed_add_job(func: Callable[[], None], *args: Any, **kwargs: Any) -> Any:
        name = str(kwargs.get("id") or getattr(func, "__name__", "job"))

        def timed() -> None:
            t0 = time.thread_time()
            try:
                func()
            finally:
                with lock:
                    totals[name] = totals.get(name, 0.0) + time.thread_time() - t0

        return add_job(timed, *args, **kwargs)

    daemon.scheduler.add_job = timed_add_job  # type: ignore[method-assign]
    return totals


def thread_cpu() -> dict[str, float]:
    """CPU seconds per thread kind (account-N threads summed), from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name.split("_")[0].split("-")[0] for t in threading.enumerate()}
    totals: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(task.name), "other")
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def outcomes(app: App) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(DeliveryRow.sent_at, DeliveryRow.due_at, DeliveryRow.status)
                                 .where(DeliveryRow.kind == "queued")))


def lateness(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"lateness_p50_s": float("nan"), "lateness_p99_s": float("nan"), "lateness_max_s": float("nan")}
    return {"lateness_p50_s": round(statistics.median(ordered), 3),
            "lateness_p99_s": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 3),
            "lateness_max_s": round(ordered[-1], 3)}


def clients(server: str, count: int, like_ours: bool = False) -> list[Mastodon]:
    """``like_ours``: the environment's proxy settings read once, as our adapter's clients do
    (bot/networks/mastodon/transport.py `environment_once`; requests reads them at every request otherwise)."""
    made = [Mastodon(access_token="bare", api_base_url=server, mastodon_version="4.5.0", version_check_mode="created",
                     ratelimit_method="throw") for _ in range(count)]
    for client in made if like_ours else ():
        environment_once(client.session, server)
    return made


def bare_post(client: Mastodon, text: str, key: str, untyped: bool) -> None:
    """One status the bare way (``status_post``, its answer typed into Mastodon.py's entities), or ``untyped``:
    the request our adapter makes (the same fields through Mastodon.py's request, the answer left as JSON; its
    client made with ``clients(..., like_ours=True)``)."""
    if untyped:
        untyped_post(client, "/api/v1/statuses", {"status": text, "sensitive": False, "visibility": "public",
                                                   "language": "en"}, headers={"Idempotency-Key": key})
    else:
        client.status_post(text, language="en", idempotency_key=key)


def bare_burst(server: str, count: int, concurrency: int, untyped: bool = False) -> tuple[float, float, list[float]]:
    """A plain Mastodon.py loop posting ``count`` statuses with ``concurrency`` threads, one client per thread,
    all due at its start: (CPU seconds, wall seconds, lateness of each post from that instant). ``untyped``:
    each post as our adapter makes it (``bare_post``), for a like-for-like comparison."""
    pool_clients = clients(server, concurrency, like_ours=untyped)
    local = threading.local()
    counter = iter(range(concurrency))
    lock = threading.Lock()
    late: list[float] = []

    def post(i: int) -> None:
        if not hasattr(local, "client"):
            with lock:
                local.client = pool_clients[next(counter)]
        bare_post(local.client, f"bare {i}", f"bare-{i}-{due}", untyped)
        late.append(time.time() - due)

    due = time.time()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, range(count)))
    return time.process_time() - cpu0, time.perf_counter() - wall0, late


def bare_steady(server: str, times: list[float], concurrency: int) -> tuple[float, list[float]]:
    """A plain scheduled loop: sleep until each post's time (``times``: time.time() values, sorted), hand it to a
    pool of ``concurrency`` threads that post it. (CPU seconds, lateness of each post in seconds)."""
    pool_clients = clients(server, concurrency)
    late: list[float] = []
    lock = threading.Lock()

    def post(i: int, due: float) -> None:
        pool_clients[i % concurrency].status_post(f"bare {i}", language="en", idempotency_key=f"bare-s-{i}")
        with lock:
            late.append(time.time() - due)

    cpu0 = time.process_time()
    with ThreadPoolExecutor(concurrency) as pool:
        for i, due in enumerate(times):
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            pool.submit(post, i, due)
    return time.process_time() - cpu0, late
