"""scaleout: 1, 2 and 4 `campaign-bot run` processes on one PostgreSQL database drain the same burst of posts
through a fake Mastodon with 200 ms latency (its own process): each one's rate against one worker's. The figure
that says a user who outgrows one worker can add more (target: 1 x, >= 1.8 x, >= 3.2 x).

64 accounts, concurrency 8 per worker, 1,280 posts due at once (`--quick`: 640). The rate is taken from the
posts' own sent_at (first to last), so the processes' start and first plan are not counted. Needs PostgreSQL."""

from __future__ import annotations

import os
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
from bot.store.models import DeliveryRow
from bot.worker.plan import plan

NAME = "campaign_bot_bench_scaleout"
ACCOUNTS, CONCURRENCY, LATENCY = 64, 8, 0.2
LIMIT = 600.0


def _drain(base: str, server: str, workers: int, total: int) -> tuple[float, int]:
    """(posts per second from the first send to the last, posts sent) with ``workers`` processes."""
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_pg_database(base, NAME)
        try:
            cfg = fleet.config(Path(tmp), url, server, ACCOUNTS, CONCURRENCY)
            app = bootstrap(load_config(cfg))
            plan(app)
            fleet.queue(app, [app.clock.now()] * total, ACCOUNTS)
            for i in range(workers):
                with open(Path(tmp) / f"w{i}.log", "wb") as out:
                    procs.append(subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(cfg)],
                                                  cwd=REPO, stdout=subprocess.DEVNULL, stderr=out,
                                                  env={**os.environ, "BENCH_TOKEN": "t"}))
            deadline = time.monotonic() + LIMIT
            while fleet.left(app) and time.monotonic() < deadline:
                if any(p.poll() is not None for p in procs):
                    raise fleet.StoppedEarly(f"a worker exited ({[p.returncode for p in procs]})")
                time.sleep(0.2)
            with app.engine.connect() as conn:
                first, last, sent = conn.execute(
                    select(func.min(DeliveryRow.sent_at), func.max(DeliveryRow.sent_at), func.count())
                    .where(DeliveryRow.kind == "queued", DeliveryRow.status == "sent")).one()
            app.engine.dispose()
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
            drop_pg_database(base, NAME)
    if sent < total:
        raise fleet.StoppedEarly(f"{sent} of {total} sent after {LIMIT:.0f} s with {workers} worker(s)")
    return sent / max((last - first).total_seconds(), 1e-3), sent


def run(quick: bool) -> dict:
    base = pg_url()
    if not base:
        return emit("scaleout", skipped="needs PostgreSQL: set CAMPAIGN_BOT_BENCH_POSTGRES_URL")
    total = 640 if quick else 1280
    load0 = load_average()
    rates: dict[int, float] = {}
    server = ServerProcess(latency=LATENCY)
    try:
        for workers in (1, 2, 4):
            try:
                rates[workers], _ = _drain(base, server.url, workers, total)
            except fleet.StoppedEarly as exc:
                return emit("scaleout", database="postgresql", stopped_early=str(exc), load_average=load_average())
    finally:
        server.close()
    ratios = {n: round(rates[n] / rates[1], 2) for n in rates}
    return emit("scaleout", database="postgresql", deliveries=total, accounts=ACCOUNTS,
                concurrency_each=CONCURRENCY, server_latency_ms=int(LATENCY * 1000),
                per_second={n: round(r, 1) for n, r in rates.items()}, ratio=ratios,
                load_average=[load0, load_average()],
                checks=[check("2 workers' drain rate vs 1", ratios[2], 1.8, at_most=False,
                              ours=round(rates[2], 1), reference=round(rates[1], 1)),
                        check("4 workers' drain rate vs 1", ratios[4], 3.2, at_most=False,
                              ours=round(rates[4], 1), reference=round(rates[1], 1))])
