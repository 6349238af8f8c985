"""dispatch: posts due at one instant, sent by the real daemon loop (`Daemon.run`, in this process) through a
fake Mastodon in its own process with 20 ms latency and rate budgets lifted; then a bare Mastodon.py loop
posting as many statuses to the same server with the SAME number of threads (the daemon's `concurrency`).
Our CPU per delivery against the bare client's, and our deliveries per second against its.

`dispatch`: 2,000 deliveries over 20 accounts (concurrency 20). `burst`: 10,000 over 100 accounts
(concurrency 40: PostgreSQL's default 100 connections). `--quick`: 1,000 of each."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from bench import fleet
from bench.common import ServerProcess, drop_pg_database, emit, fresh_pg_database, pg_url
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.worker.plan import plan

NAME = "campaign_bot_bench_dispatch"
LEAD = 4.0  # seconds from queueing to the due instant: the daemon starts and plans meanwhile (not measured)


def measure(name: str, total: int, accounts: int, concurrency: int) -> dict:
    os.environ["BENCH_TOKEN"] = "bench-token"
    base = pg_url()
    server = ServerProcess(latency=0.02)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_pg_database(base, NAME) if base else f"sqlite:///{tmp}/b.db"
            app = bootstrap(load_config(fleet.config(Path(tmp), url, server.url, accounts, concurrency)))
            plan(app)
            due = app.clock.now() + timedelta(seconds=LEAD + total / 2000)  # queueing takes a while too
            fleet.queue(app, [due] * total, accounts)
            cpu, wall = fleet.run_daemon(app, lambda: fleet.left(app) == 0, start_at=due)
            rows = fleet.outcomes(app)
            app.engine.dispose()
            if base:
                drop_pg_database(base, NAME)
        sent = [r for r in rows if r.status == "sent"]
        bare_cpu, bare_wall = fleet.bare_burst(server.url, len(sent), concurrency)
    finally:
        server.close()
    ours, bare = cpu / len(sent), bare_cpu / len(sent)
    return emit(name, database="postgresql" if base else "sqlite", deliveries=len(sent), accounts=accounts,
                concurrency=concurrency, bare_concurrency=concurrency, server_latency_ms=20,
                drain_s=round(wall, 2), per_second=round(len(sent) / wall, 1),
                bare_per_second=round(len(sent) / bare_wall, 1), throughput_ratio=round(bare_wall / wall, 2),
                **fleet.lateness([(r.sent_at - r.due_at).total_seconds() for r in sent]),
                cpu_ms_per_delivery=round(ours * 1000, 3), bare_cpu_ms_per_post=round(bare * 1000, 3),
                cpu_ratio=round(ours / bare, 2), target_cpu_ratio=1.3, target_throughput_ratio=0.8,
                cpu_s_by_thread={k: round(v, 2) for k, v in fleet.by_thread.items()})


def run(quick: bool) -> dict:
    return measure("dispatch", 1000 if quick else 2000, 20, 20)
