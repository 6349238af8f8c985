"""dispatch: posts due at one instant, sent by the real daemon loop (`Daemon.run`, in this process) through a
fake Mastodon in its own process with 20 ms latency and rate budgets lifted; then a bare Mastodon.py loop
posting as many statuses to the same server with the SAME number of threads (the daemon's `concurrency`).
Our CPU per delivery against the bare client's, and our deliveries per second against its. Beside them, with no
target, the same figures like for like: a bare loop making the request our adapter makes (Mastodon.py's request
with its answer left as JSON, not typed into its entities: about a third of status_post's CPU).

Ours and the bare loop alternate, A B A B (each round half the posts, a fresh database), so drift in the
machine's load falls on both. Lateness is each post's `sent_at - due_at` (its own due time, stored in the
row; the bare loop's from the instant its posts were due, the start of its round).

`dispatch`: 2,000 deliveries over 20 accounts (concurrency 20). `burst`: 10,000 over 100 accounts
(concurrency 40: PostgreSQL's default 100 connections). `--quick`: 1,000 of each."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from bench import fleet
from bench.common import ServerProcess, check, drop_pg_database, emit, fresh_pg_database, load_average, pg_url
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.worker.plan import plan

NAME = "campaign_bot_bench_dispatch"
LEAD = 4.0  # seconds from queueing to the due instant: the daemon starts and plans meanwhile (not measured)
ROUNDS = 2  # A B A B


def _ours(server: str, base: str | None, total: int, accounts: int, concurrency: int) -> tuple[float, float, list]:
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_pg_database(base, NAME) if base else f"sqlite:///{tmp}/b.db"
        app = bootstrap(load_config(fleet.config(Path(tmp), url, server, accounts, concurrency)))
        try:
            plan(app)
            due = app.clock.now() + timedelta(seconds=LEAD + total / 2000)  # queueing takes a while too
            fleet.queue(app, [due] * total, accounts)
            cpu, wall = fleet.run_daemon(app, lambda: fleet.left(app) == 0, start_at=due)
            rows = fleet.outcomes(app)
        finally:
            app.engine.dispose()
            if base:
                drop_pg_database(base, NAME)
    return cpu, wall, [r for r in rows if r.status == "sent"]


def measure(name: str, total: int, accounts: int, concurrency: int, cpu_target: float | None,
            throughput_target: float) -> dict:
    os.environ["BENCH_TOKEN"] = "bench-token"
    base = pg_url()
    database = "postgresql" if base else "sqlite"
    load0 = load_average()
    cpu = wall = bare_cpu = bare_wall = like_cpu = like_wall = 0.0
    sent: list = []
    bare_late: list[float] = []
    threads: dict[str, float] = {}
    server = ServerProcess(latency=0.02)
    try:
        for _ in range(ROUNDS):
            try:
                c, w, s = _ours(server.url, base, total // ROUNDS, accounts, concurrency)
            except fleet.StoppedEarly as exc:
                return emit(name, database=database, stopped_early=str(exc), load_average=load_average())
            cpu, wall, sent = cpu + c, wall + w, sent + s
            for k, v in fleet.by_thread.items():
                threads[k] = threads.get(k, 0.0) + v
            bc, bw, late = fleet.bare_burst(server.url, len(s), concurrency)
            bare_cpu, bare_wall, bare_late = bare_cpu + bc, bare_wall + bw, bare_late + late
            lc, lw, _ = fleet.bare_burst(server.url, len(s), concurrency, untyped=True)
            like_cpu, like_wall = like_cpu + lc, like_wall + lw
    finally:
        server.close()
    ours, bare, like = cpu / len(sent), bare_cpu / len(sent), like_cpu / len(sent)
    per_s, bare_per_s, like_per_s = len(sent) / wall, len(sent) / bare_wall, len(sent) / like_wall
    checks = [check("throughput (deliveries/s) vs bare", round(per_s / bare_per_s, 2), throughput_target,
                    at_most=False, ours=round(per_s, 1), reference=round(bare_per_s, 1))]
    if cpu_target is not None:
        checks.insert(0, check("CPU ms per delivery vs bare", round(ours / bare, 2), cpu_target,
                               ours=round(ours * 1000, 3), reference=round(bare * 1000, 3)))
    bare_lateness = {f"bare_{k}": v for k, v in fleet.lateness(bare_late).items()}
    return emit(name, database=database, deliveries=len(sent), accounts=accounts, rounds=f"ABAB x {ROUNDS}",
                concurrency=concurrency, bare_concurrency=concurrency, server_latency_ms=20,
                drain_s=round(wall, 2), per_second=round(per_s, 1), bare_per_second=round(bare_per_s, 1),
                throughput_ratio=round(per_s / bare_per_s, 2),
                **fleet.lateness([(r.sent_at - r.due_at).total_seconds() for r in sent]), **bare_lateness,
                cpu_ms_per_delivery=round(ours * 1000, 3), bare_cpu_ms_per_post=round(bare * 1000, 3),
                cpu_ratio=round(ours / bare, 2),
                # Like for like (no target): the bare loop making our adapter's request, its answer untyped
                like_for_like={"bare_cpu_ms_per_post": round(like * 1000, 3), "cpu_ratio": round(ours / like, 2),
                               "bare_per_second": round(like_per_s, 1),
                               "throughput_ratio": round(per_s / like_per_s, 2)},
                cpu_s_by_thread={k: round(v, 2) for k, v in threads.items()},
                load_average=[load0, load_average()], checks=checks)


def run(quick: bool) -> dict:
    return measure("dispatch", 1000 if quick else 2000, 20, 20, cpu_target=1.2, throughput_target=0.9)
