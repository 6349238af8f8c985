"""restart: only the restart part of `peer` (bench/peer.py), for measuring it often: the same world, ours and the
naive bot each started once (the naive bot's first start fills its job store), then each restarted as a new
process in turn (A B A B ...), timed from launch until it could send (ours: `next post:`). It skips peer's memory
tracing, which schedules the naive way a second time (about two minutes at 1,000 campaigns).

BENCH_RESTART_ROUNDS (default 3) sets the rounds. BENCH_RESTART_BASE=<another checkout of campaign-bot> times
that checkout's `campaign-bot run` too, in the same rounds (A B C A B C ...), on its own copy of the world: its
code differs, and a worker whose code changed reads its files again (bot/campaigns/fingerprint.py), so two
versions on one database would each pay a full load at every start. That is an A/B of two versions against the
same naive bot, in the same minutes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.common import check, drop_pg_database, emit, fresh_pg_database, load_average, pg_url, write_world
from bench.peer import _naive, _ours

Figures = list[tuple[float, float]]


def _mean(runs: Figures, which: int) -> float:
    return sum(r[which] for r in runs) / len(runs)


def _one_database(base: str | None, campaigns: int, rounds: int, other: Path | None) -> dict:
    load0 = load_average()
    database = "postgresql" if base else "sqlite"
    names = ["campaign_bot_bench_restart", "campaign_bot_bench_restart_naive", "campaign_bot_bench_restart_base"]
    with tempfile.TemporaryDirectory() as tmp:
        urls = [fresh_pg_database(base, name) for name in names] if base else \
            [f"sqlite:///{tmp}/{name}.db" for name in ("ours", "naive", "base")]
        store = urls[1].replace("postgresql://", "postgresql+psycopg://", 1) if base else urls[1]
        try:
            cfg = write_world(Path(tmp) / "ours", campaigns, accounts=50, database_url=urls[0], horizon_days=30)
            other_cfg = (write_world(Path(tmp) / "base", campaigns, accounts=50, database_url=urls[2],
                                     horizon_days=30) if other else None)
            pycache = f"{tmp}/pycache"
            _ours(cfg, pycache)  # the first start: plans and records what it read
            _naive(cfg, store, pycache)  # the first start: adds every job
            if other_cfg is not None and other is not None:
                _ours(other_cfg, pycache, other)
            ours: Figures = []
            naive: Figures = []
            theirs: Figures = []
            for _ in range(rounds):
                ours.append(_ours(cfg, pycache))
                naive.append(_naive(cfg, store, pycache))
                if other_cfg is not None and other is not None:
                    theirs.append(_ours(other_cfg, pycache, other))
        finally:
            if base:
                for name in names:
                    drop_pg_database(base, name)
    wall, cpu = _mean(ours, 0), _mean(ours, 1)
    naive_wall, naive_cpu = _mean(naive, 0), _mean(naive, 1)
    checks = [check("restart (a new process) to its first send vs naive", round(naive_wall / wall, 1), 10,
                    at_most=False, ours=round(wall, 3), reference=round(naive_wall, 2)),
              check("restart CPU (a new process) vs naive", round(naive_cpu / cpu, 1), 10, at_most=False,
                    ours=round(cpu, 3), reference=round(naive_cpu, 2))]
    base_figures = {}
    if theirs:
        base_figures = {"base_checkout": str(other), "base_restart_s": [round(w, 3) for w, _ in theirs],
                        "base_restart_cpu_s": [round(c, 3) for _, c in theirs],
                        "base_restart_ratio": round(naive_wall / _mean(theirs, 0), 1),
                        "base_restart_cpu_ratio": round(naive_cpu / _mean(theirs, 1), 1)}
    return emit("restart", database=f"{database} (ours and the naive job store)", campaigns=campaigns,
                rounds=rounds, ours_restart_s=[round(w, 3) for w, _ in ours],
                ours_restart_cpu_s=[round(c, 3) for _, c in ours],
                naive_restart_s=[round(w, 2) for w, _ in naive], naive_restart_cpu_s=[round(c, 2) for _, c in naive],
                restart_ratio=round(naive_wall / wall, 1), restart_cpu_ratio=round(naive_cpu / cpu, 1),
                **base_figures, target_ratio=10, load_average=[load0, load_average()], checks=checks)


def run(quick: bool) -> list[dict]:
    campaigns = 100 if quick else 1000
    rounds = int(os.environ.get("BENCH_RESTART_ROUNDS", "3"))
    other = Path(os.environ["BENCH_RESTART_BASE"]).resolve() if os.environ.get("BENCH_RESTART_BASE") else None
    results = [_one_database(None, campaigns, rounds, other)]
    base = pg_url()
    if base:
        results.append(_one_database(base, campaigns, rounds, other))
    return results
