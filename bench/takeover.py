"""takeover: two `campaign-bot run` processes on one PostgreSQL database drain posts due at once through a fake
Mastodon (20 ms); one is killed with SIGKILL mid-drain. Measured from the kill: until nothing the dead one
held is left in `sending` (its in-flight posts freed and resent), and until every post is settled (the
survivor takes the dead one's accounts as their locks die with its connections): nothing planned or sending,
and no read-back pending (a dead worker's posts become `unknown` with the account's read-back due at once, then
sent, found, or left to a person; the run used to stop at the flag and showed 1-5 posts `unknown`).

1,000 posts over 20 accounts, concurrency 8 each; `--quick`: 400 over 10. Needs PostgreSQL (SQLite has one
worker): $CAMPAIGN_BOT_BENCH_POSTGRES_URL or $CAMPAIGN_BOT_TEST_POSTGRES_URL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench import fleet
from bench.common import REPO, ServerProcess, check, drop_pg_database, emit, fresh_pg_database, load_average, pg_url
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.store.models import DeliveryRow, WorkerRow
from bot.worker.plan import plan

NAME = "campaign_bot_bench_takeover"
LIMIT = 120.0  # seconds after the kill before giving up


def _count(app, *where) -> int:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(DeliveryRow).where(DeliveryRow.kind == "queued",
                                                                                  *where)) or 0)


def _start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(cfg)], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=out, env={**os.environ, "BENCH_TOKEN": "t"})


def run(quick: bool) -> dict:
    total, accounts, concurrency = (400, 10, 8) if quick else (1000, 20, 8)
    base = pg_url()
    if not base:
        return emit("takeover", skipped="needs PostgreSQL: set CAMPAIGN_BOT_BENCH_POSTGRES_URL")
    server = ServerProcess(latency=0.02)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_pg_database(base, NAME)
            cfg = fleet.config(Path(tmp), url, server.url, accounts, concurrency)
            app = bootstrap(load_config(cfg))
            plan(app)
            fleet.queue(app, [app.clock.now()] * total, accounts)
            workers = [_start(cfg, Path(tmp) / f"w{i}.log") for i in range(2)]
            deadline = time.monotonic() + 120
            while _count(app, DeliveryRow.status == "sent") < total * 0.3 and time.monotonic() < deadline:
                time.sleep(0.05)
            with app.engine.connect() as conn:
                owners = {o: n for o, n in conn.execute(
                    select(DeliveryRow.lease_owner, func.count()).where(DeliveryRow.status == "sending")
                    .group_by(DeliveryRow.lease_owner))}
                registered = list(conn.scalars(select(WorkerRow.owner)))
            victim = workers[0]
            dead = next((o for o in registered if f":{victim.pid}:" in o), "")
            sent_before = _count(app, DeliveryRow.status == "sent")
            victim.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            victim.wait()
            freed_s = all_sent_s = None
            while time.monotonic() - killed < LIMIT and all_sent_s is None:
                elapsed = time.monotonic() - killed
                held = _count(app, DeliveryRow.status == "sending", DeliveryRow.lease_owner == dead)
                if freed_s is None and not held:
                    freed_s = elapsed
                if _count(app, fleet.unsettled()) == 0:
                    all_sent_s = elapsed
                time.sleep(0.1)
            with app.engine.connect() as conn:
                statuses = dict(conn.execute(select(DeliveryRow.status, func.count())
                                             .where(DeliveryRow.kind == "queued").group_by(DeliveryRow.status)).all())
                distinct_ids = int(conn.scalar(select(func.count(DeliveryRow.remote_id.distinct()))
                                               .where(DeliveryRow.kind == "queued", DeliveryRow.status == "sent")) or 0)
            read_back_pending = _count(app, fleet.reading_back())
            for w in workers[1:]:
                w.send_signal(signal.SIGTERM)
                w.wait(timeout=60)
            app.engine.dispose()
            drop_pg_database(base, NAME)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        server.close()
    return emit("takeover", database="postgresql", deliveries=total, accounts=accounts, workers=2,
                concurrency_each=concurrency, server_latency_ms=20, sent_before_kill=sent_before,
                in_flight_of_the_dead=owners.get(dead, 0),
                dead_in_flight_freed_s=round(freed_s, 1) if freed_s is not None else None,
                all_sent_after_kill_s=round(all_sent_s, 1) if all_sent_s is not None else f">{LIMIT:.0f}",
                statuses=statuses, read_back_pending_at_end=read_back_pending,
                unknown_for_a_person=statuses.get("unknown", 0) - read_back_pending,
                sent_with_a_status_of_their_own=distinct_ids, target_s=30,
                load_average=load_average(),
                checks=[check("takeover: all sent (read-backs settled) after kill -9 of one of two workers (s)",
                              round(all_sent_s, 1) if all_sent_s is not None else None, 30, unit=" s")])
