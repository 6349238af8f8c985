"""The naive bot, started as a new process by bench/peer.py: one APScheduler job per post in a persistent
SQLAlchemyJobStore. It imports what such a bot needs and nothing of ours but the campaign files' loader (it reads
the same files, with the same checks): no database of ours, no migrations, no account directory."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.campaigns.schedule import campaign_slots
from bot.campaigns.templates import render
from bot.campaigns.validate import load_campaigns
from bot.config.settings import Config, load_config

READY = "naive bot ready"


def post(campaign_id: str, account: str, text: str) -> None:  # what each naive job would run
    print(campaign_id, account, text)


POST = "bench.naive:post"
"""The jobs' function by its module's name: run as `python -m bench.naive` this module is __main__, and jobs
stored as `__main__:post` could not be restored by the benchmark's own process (APScheduler then deletes them
all in one statement: over PostgreSQL's 65,535 parameters at 82,000 jobs, which stopped `peer` there)."""


def naive_schedule(config: Config, store_url: str) -> int:
    """A naive bot at start: read every campaign, then add one job per post its persistent job store does not
    hold yet. The first start adds them all; a restart loads the store's jobs and adds none (a fair
    baseline: re-adding every job on each restart, as this benchmark once did, is not what such a bot does).
    It would then unpause its scheduler: that is when it could send."""
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=store_url)}, timezone="UTC")
    scheduler.start(paused=True)
    known = {job.id for job in scheduler.get_jobs()}
    now = datetime.now(UTC)
    count = 0
    for cid, loaded in load_campaigns(config, now, budgets=False).campaigns.items():
        for slot in campaign_slots(loaded.model, now, now + timedelta(days=30)):
            for account in loaded.model.accounts:
                job_id = f"{cid}|{slot.rule_id}|{slot.local_key}|{account}"
                count += 1
                if job_id in known:
                    continue
                text = render(loaded.model.messages.call_to_action[count % 2], loaded.model, loaded.targets, "en",
                              "console")
                scheduler.add_job(POST, "date", run_date=slot.at, args=[cid, account, text], id=job_id)
    print(READY, flush=True)
    scheduler.shutdown(wait=False)
    return count


def naive_start(cfg: str, store: str) -> None:
    naive_schedule(load_config(Path(cfg)), store)


if __name__ == "__main__":
    naive_start(sys.argv[1], sys.argv[2])
