"""steady: posts due at their own times, spread evenly, sent by the real daemon loop (`Daemon.run` in this
process: its timer, wake-ups and safety tick) through a fake Mastodon in its own process with 20 ms latency.
p99 lateness (sent_at - due_at) and the daemon's CPU per delivery, against a bare scheduled Mastodon.py loop
(sleep until each post's time, post it from a pool of the same number of threads) over the same spread.

Ours and the bare loop alternate, A B A B (each round half the posts over half the span, so the rate is the
same), so drift in the machine's load falls on both.

3,000 posts over 5 minutes across 100 accounts, concurrency 40; `--quick`: 300 over 30 s, 20 accounts."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench import fleet
from bench.common import ServerProcess, check, drop_pg_database, emit, fresh_pg_database, load_average, pg_url
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.worker.plan import plan

NAME = "campaign_bot_bench_steady"
LEAD = 5.0  # seconds between queueing and the first post: the daemon starts and plans meanwhile
ROUNDS = 2  # A B A B


def _ours(server: str, base: str | None, total: int, span: float, accounts: int,
          concurrency: int) -> tuple[float, float, list]:
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_pg_database(base, NAME) if base else f"sqlite:///{tmp}/b.db"
        app = bootstrap(load_config(fleet.config(Path(tmp), url, server, accounts, concurrency)))
        try:
            plan(app)
            start = app.clock.now() + timedelta(seconds=LEAD + total / 1000)  # queueing takes a while too
            times = [start + timedelta(seconds=span * i / total) for i in range(total)]
            fleet.queue(app, times, accounts)
            cpu, wall = fleet.run_daemon(app, lambda: fleet.left(app) == 0, start_at=start, check_every=1.0)
            rows = fleet.outcomes(app)
        finally:
            app.engine.dispose()
            if base:
                drop_pg_database(base, NAME)
    return cpu, wall, [r for r in rows if r.status == "sent"]


def run(quick: bool) -> dict:
    total, span, accounts, concurrency = (300, 30.0, 20, 20) if quick else (3000, 300.0, 100, 40)
    os.environ["BENCH_TOKEN"] = "bench-token"
    base = pg_url()
    database = "postgresql" if base else "sqlite"
    load0 = load_average()
    cpu = wall = bare_cpu = 0.0
    sent: list = []
    bare_late: list[float] = []
    threads: dict[str, float] = {}
    jobs: dict[str, float] = {}
    each, each_span = total // ROUNDS, span / ROUNDS
    server = ServerProcess(latency=0.02)
    try:
        for _ in range(ROUNDS):
            try:
                c, w, s = _ours(server.url, base, each, each_span, accounts, concurrency)
            except fleet.StoppedEarly as exc:
                return emit("steady", database=database, stopped_early=str(exc), load_average=load_average())
            cpu, wall, sent = cpu + c, wall + w, sent + s
            for k, v in fleet.by_thread.items():
                threads[k] = threads.get(k, 0.0) + v
            for k, v in fleet.by_job.items():
                jobs[k] = jobs.get(k, 0.0) + v
            t0 = time.time() + 1.0
            bc, late = fleet.bare_steady(server.url, [t0 + each_span * i / each for i in range(each)], concurrency)
            bare_cpu, bare_late = bare_cpu + bc, bare_late + late
    finally:
        server.close()
    ours, bare = cpu / len(sent), bare_cpu / (each * ROUNDS)
    ours_late = fleet.lateness([(r.sent_at - r.due_at).total_seconds() for r in sent])
    bare_late_figures = {f"bare_{k}": v for k, v in fleet.lateness(bare_late).items()}
    checks = [check("CPU ms per delivery vs bare scheduled loop", round(ours / bare, 2), 1.3,
                    ours=round(ours * 1000, 3), reference=round(bare * 1000, 3)),
              check("p99 lateness (s)", ours_late["lateness_p99_s"], 1.0,
                    reference=bare_late_figures["bare_lateness_p99_s"])]
    return emit("steady", database=database, deliveries=len(sent), of=each * ROUNDS, span_s=span,
                rounds=f"ABAB x {ROUNDS}", accounts=accounts, concurrency=concurrency, bare_concurrency=concurrency,
                server_latency_ms=20, **ours_late, **bare_late_figures,
                cpu_ms_per_delivery=round(ours * 1000, 3), bare_cpu_ms_per_post=round(bare * 1000, 3),
                cpu_ratio=round(ours / bare, 2), daemon_wall_s=round(wall, 1),
                cpu_s_by_thread={k: round(v, 2) for k, v in threads.items()},
                cpu_s_by_job={k: round(v, 3) for k, v in jobs.items()},
                load_average=[load0, load_average()], checks=checks)
