"""peer: the same posts scheduled the naive way, one APScheduler job per post in a SQLAlchemyJobStore. Time to
schedule, time to restart and memory, each against ours as a ratio (naive / ours).

Start and restart are each a NEW PROCESS (interpreter, imports, config, files, database), timed from its launch
until it could send its first post (ours: planned and the next due time read, as `campaign-bot run` does before
its first tick; the naive bot: its jobs loaded and the missing ones added), ours and the naive one alternating
A B A B. On SQLite, and on PostgreSQL (ours and the naive job store both) when a PostgreSQL URL is set."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bench.common import REPO, check, drop_pg_database, emit, fresh_pg_database, load_average, pg_url, write_world
from bot.bootstrap import bootstrap
from bot.campaigns.schedule import campaign_slots
from bot.campaigns.templates import render
from bot.config.settings import load_config
from bot.worker.plan import plan


def post(campaign_id: str, account: str, text: str) -> None:  # what each naive job would run
    print(campaign_id, account, text)


def _naive_schedule(app, store_url: str) -> int:  # type: ignore[no-untyped-def]
    """A naive bot at start: read every campaign, then add one job per post its persistent job store does not
    hold yet. The first start adds them all; a restart loads the store's jobs and adds none (a fair
    baseline: re-adding every job on each restart, as this benchmark once did, is not what such a bot does)."""
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=store_url)}, timezone="UTC")
    scheduler.start(paused=True)
    known = {job.id for job in scheduler.get_jobs()}
    now = app.clock.now()
    count = 0
    for cid, loaded in app.load_campaigns(budgets=False).campaigns.items():
        for slot in campaign_slots(loaded.model, now, now + timedelta(days=30)):
            for account in loaded.model.accounts:
                job_id = f"{cid}|{slot.rule_id}|{slot.local_key}|{account}"
                count += 1
                if job_id in known:
                    continue
                text = render(loaded.model.messages.call_to_action[count % 2], loaded.model, loaded.targets, "en",
                              "console")
                scheduler.add_job(post, "date", run_date=slot.at, args=[cid, account, text], id=job_id)
    scheduler.shutdown(wait=False)
    return count


def _traced(fn) -> float:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def naive_start(cfg: str, store: str) -> None:
    _naive_schedule(bootstrap(load_config(Path(cfg))), store)


def _process(call: str) -> float:
    """Wall seconds from launching a new Python process until ``call`` returned in it: ours from bench/restart.py
    (it imports what `campaign-bot run` imports), the naive bot's from this module."""
    module = "restart" if call.startswith("ours_") else "peer"
    code = f"import sys; sys.path.insert(0, {str(REPO)!r}); from bench import {module}; {module}.{call}"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, env={**os.environ},
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _one_database(base: str | None, campaigns: int) -> dict:
    load0 = load_average()
    database = "postgresql" if base else "sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        ours_url = fresh_pg_database(base, "campaign_bot_bench_peer") if base else f"sqlite:///{tmp}/ours.db"
        store = (fresh_pg_database(base, "campaign_bot_bench_peer_naive").replace("postgresql://",
                                                                                 "postgresql+psycopg://", 1)
                 if base else f"sqlite:///{tmp}/naive.db")
        try:
            cfg = write_world(Path(tmp) / "timed", campaigns, accounts=50, database_url=ours_url, horizon_days=30)
            ours_schedule = _process(f"ours_start({str(cfg)!r})")
            naive_schedule = _process(f"naive_start({str(cfg)!r}, {store!r})")
            ours_restarts, naive_restarts = [], []
            for _ in range(2):  # A B A B
                ours_restarts.append(_process(f"ours_start({str(cfg)!r})"))
                naive_restarts.append(_process(f"naive_start({str(cfg)!r}, {store!r})"))
            jobs = _naive_schedule(bootstrap(load_config(cfg)), store)
            peaks = None
            if base is None:
                traced_cfg = write_world(Path(tmp) / "traced", campaigns, accounts=50,
                                         database_url=f"sqlite:///{tmp}/traced/ours.db", horizon_days=30)
                peaks = (_traced(lambda: plan(bootstrap(load_config(traced_cfg)))),
                         _traced(lambda: _naive_schedule(bootstrap(load_config(traced_cfg)), f"sqlite:///{tmp}/n2.db")))
        finally:
            if base:
                drop_pg_database(base, "campaign_bot_bench_peer")
                drop_pg_database(base, "campaign_bot_bench_peer_naive")
    ours_restart, naive_restart = sum(ours_restarts) / 2, sum(naive_restarts) / 2
    checks = [check("schedule (a new process) vs one APScheduler job per post",
                    round(naive_schedule / ours_schedule, 1),
                    10, at_most=False, ours=round(ours_schedule, 2), reference=round(naive_schedule, 2)),
              check("restart (a new process) to its first send vs naive", round(naive_restart / ours_restart, 1), 10,
                    at_most=False, ours=round(ours_restart, 2), reference=round(naive_restart, 2))]
    memory = {} if peaks is None else {"ours_peak_mb": round(peaks[0], 1), "naive_peak_mb": round(peaks[1], 1),
                                       "memory_ratio": round(peaks[1] / peaks[0], 2)}
    return emit("peer", database=f"{database} (ours and the naive job store)", campaigns=campaigns, posts=jobs,
                ours_schedule_s=round(ours_schedule, 2), naive_schedule_s=round(naive_schedule, 2),
                schedule_ratio=round(naive_schedule / ours_schedule, 1),
                ours_restart_s=[round(x, 3) for x in ours_restarts],
                naive_restart_s=[round(x, 2) for x in naive_restarts],
                restart_ratio=round(naive_restart / ours_restart, 1), **memory, target_ratio=10,
                restart="a new process each, from launch until it could send", load_average=[load0, load_average()],
                checks=checks)


def run(quick: bool) -> list[dict]:
    campaigns = 100 if quick else 1000
    results = [_one_database(None, campaigns)]
    base = pg_url()
    if base:
        results.append(_one_database(base, campaigns))
    return results
