"""steady: posts due at their own times, spread evenly, sent by the real daemon loop (`Daemon.run` in this
process: its timer, wake-ups and safety tick) through a fake Mastodon in its own process with 20 ms latency.
p99 lateness (sent_at - due_at) and the daemon's CPU per delivery, against a bare scheduled Mastodon.py loop
(sleep until each post's time, post it from a pool of the same number of threads) over the same spread.

3,000 posts over 5 minutes across 100 accounts, concurrency 40; `--quick`: 300 over 30 s, 20 accounts."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench import fleet
from bench.common import ServerProcess, drop_pg_database, emit, fresh_pg_database, pg_url
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.worker.plan import plan

NAME = "campaign_bot_bench_steady"
LEAD = 5.0  # seconds between queueing and the first post: the daemon starts and plans meanwhile


def run(quick: bool) -> dict:
    total, span, accounts, concurrency = (300, 30.0, 20, 20) if quick else (3000, 300.0, 100, 40)
    os.environ["BENCH_TOKEN"] = "bench-token"
    base = pg_url()
    server = ServerProcess(latency=0.02)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_pg_database(base, NAME) if base else f"sqlite:///{tmp}/b.db"
            app = bootstrap(load_config(fleet.config(Path(tmp), url, server.url, accounts, concurrency)))
            plan(app)
            start = app.clock.now() + timedelta(seconds=LEAD + total / 1000)  # queueing takes a while too
            times = [start + timedelta(seconds=span * i / total) for i in range(total)]
            fleet.queue(app, times, accounts)
            cpu, wall = fleet.run_daemon(app, lambda: fleet.left(app) == 0, start_at=start, check_every=1.0)
            rows = fleet.outcomes(app)
            app.engine.dispose()
            if base:
                drop_pg_database(base, NAME)
        sent = [r for r in rows if r.status == "sent"]
        t0 = time.time() + LEAD
        bare_cpu, bare_late = fleet.bare_steady(server.url, [t0 + span * i / total for i in range(total)],
                                                concurrency)
    finally:
        server.close()
    ours, bare = cpu / len(sent), bare_cpu / total
    ours_late = fleet.lateness([(r.sent_at - r.due_at).total_seconds() for r in sent])
    bare_late_figures = {f"bare_{k}": v for k, v in fleet.lateness(bare_late).items()}
    return emit("steady", database="postgresql" if base else "sqlite", deliveries=len(sent), of=total,
                span_s=span, accounts=accounts, concurrency=concurrency, bare_concurrency=concurrency,
                server_latency_ms=20, **ours_late, **bare_late_figures,
                cpu_ms_per_delivery=round(ours * 1000, 3), bare_cpu_ms_per_post=round(bare * 1000, 3),
                cpu_ratio=round(ours / bare, 2), daemon_wall_s=round(wall, 1),
                cpu_s_by_thread={k: round(v, 2) for k, v in fleet.by_thread.items()},
                target_p99_s=1.0, target_cpu_ratio=1.5)
