"""peer: the same posts scheduled the naive way, one APScheduler job per post in a SQLAlchemyJobStore. Time to
schedule, time to restart and memory, each against ours as a ratio (naive / ours)."""

from __future__ import annotations

import tempfile
import tracemalloc
from datetime import timedelta
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bench.common import emit, timed, write_world
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


def run(quick: bool) -> dict:
    campaigns = 100 if quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        def world(name: str) -> Path:
            return write_world(Path(tmp) / name, campaigns, accounts=50,
                               database_url=f"sqlite:///{tmp}/{name}/ours.db", horizon_days=30)

        cfg = world("timed")
        ours_schedule, _ = timed(lambda: plan(bootstrap(load_config(cfg))))
        ours_restart, _ = timed(lambda: plan(bootstrap(load_config(cfg))))  # a new process's first plan
        store = f"sqlite:///{tmp}/naive.db"
        naive_schedule, jobs = timed(lambda: _naive_schedule(bootstrap(load_config(cfg)), store))
        naive_restart, _ = timed(lambda: _naive_schedule(bootstrap(load_config(cfg)), store))

        traced_cfg = world("traced")
        ours_peak = _traced(lambda: plan(bootstrap(load_config(traced_cfg))))
        naive_peak = _traced(lambda: _naive_schedule(bootstrap(load_config(traced_cfg)), f"sqlite:///{tmp}/n2.db"))
    return emit("peer", database="sqlite (ours and the naive job store)", campaigns=campaigns, posts=jobs,
                ours_schedule_s=round(ours_schedule, 2), naive_schedule_s=round(naive_schedule, 2),
                schedule_ratio=round(naive_schedule / ours_schedule, 1),
                ours_restart_s=round(ours_restart, 3), naive_restart_s=round(naive_restart, 2),
                restart_ratio=round(naive_restart / ours_restart, 1),
                ours_peak_mb=round(ours_peak, 1), naive_peak_mb=round(naive_peak, 1),
                memory_ratio=round(naive_peak / ours_peak, 2), target_ratio=10)
