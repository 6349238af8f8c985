"""plan: active campaigns x 3 rules x 30 days at 100, 1,000 and 5,000 campaigns (`--quick`: 20, 100, 500), on
SQLite and, when a PostgreSQL URL is set, on PostgreSQL: CPU time of the first plan (the files read and
validated, every row inserted) and of a re-plan with nothing changed, and how each grows with the number of
campaigns (linear: the cost per campaign at the largest size at most 1.25 x the middle size's).

Times are process CPU (this process: SQLite's work is in it, PostgreSQL's server is not) beside wall time; peak
Python memory in a separate traced pass at the middle size (tracemalloc slows Python down)."""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import func, select

from bench.common import check, drop_pg_database, emit, fresh_pg_database, load_average, pg_url, write_world
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.store.models import DeliveryRow
from bot.worker.plan import plan

DB = "campaign_bot_bench_plan"
LINEAR = 1.25  # cost per campaign at the largest size over the middle size's


def _url(folder: Path, base: str | None) -> str:
    return fresh_pg_database(base, DB) if base else f"sqlite:///{folder}/bench.db"


def _once(tmp: str, name: str, campaigns: int, base: str | None) -> dict:
    folder = Path(tmp) / name
    cfg = write_world(folder, campaigns, accounts=50, database_url=_url(folder, base), horizon_days=30)
    app = bootstrap(load_config(cfg))
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        plan(app)
        first_cpu, first_wall = time.process_time() - cpu, time.perf_counter() - wall
        cpu, wall = time.process_time(), time.perf_counter()
        report = plan(app)
        again_cpu, again_wall = time.process_time() - cpu, time.perf_counter() - wall
        with app.sessions() as s:
            rows = s.scalar(select(func.count()).select_from(DeliveryRow))
    finally:
        app.engine.dispose()
        if base:
            drop_pg_database(base, DB)
    return {"campaigns": campaigns, "deliveries": rows, "plan_cpu_s": round(first_cpu, 3),
            "plan_s": round(first_wall, 3), "replan_cpu_s": round(again_cpu, 3), "replan_s": round(again_wall, 3),
            "replan_changes": report.inserted + report.updated + report.cancelled}


def _peak_mb(tmp: str, campaigns: int) -> float:
    folder = Path(tmp) / "traced"
    traced = bootstrap(load_config(write_world(folder, campaigns, accounts=50,
                                               database_url=f"sqlite:///{folder}/bench.db", horizon_days=30)))
    tracemalloc.start()
    plan(traced)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    traced.engine.dispose()
    return round(peak / 2**20, 1)


def _one_database(base: str | None, sizes: tuple[int, int, int], quick: bool) -> dict:
    load0 = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [_once(tmp, f"n{n}", n, base) for n in sizes]
        peak = _peak_mb(tmp, sizes[1]) if base is None else None
    small, middle, large = runs
    per = [r["plan_cpu_s"] / r["campaigns"] for r in runs]
    growth = round(per[2] / per[1], 2)
    replan_growth = round((large["replan_cpu_s"] / large["campaigns"])
                          / max(middle["replan_cpu_s"] / middle["campaigns"], 1e-9), 2)
    checks = [
        check(f"first plan CPU s, {middle['campaigns']:,} campaigns x 30 days ({middle['deliveries']:,} rows)",
              middle["plan_cpu_s"], 1.0 if not quick else 1.0 * middle["campaigns"] / 1000, unit=" s"),
        check(f"first plan growth per campaign {middle['campaigns']:,} -> {large['campaigns']:,}", growth, LINEAR,
              ours=f"{small['plan_cpu_s']} / {middle['plan_cpu_s']} / {large['plan_cpu_s']} s"),
        check(f"re-plan unchanged CPU s, {large['campaigns']:,} campaigns", large["replan_cpu_s"],
              1.0 if not quick else 1.0 * large["campaigns"] / 5000, unit=" s",
              ours=f"{small['replan_cpu_s']} / {middle['replan_cpu_s']} / {large['replan_cpu_s']} s"),
    ]
    return emit("plan", database="postgresql" if base else "sqlite", rules_per_campaign=3, days=30, runs=runs,
                growth_per_campaign=growth, replan_growth_per_campaign=replan_growth,
                peak_python_memory_mb=peak, load_average=[load0, load_average()], checks=checks)


def run(quick: bool) -> list[dict]:
    sizes = (20, 100, 500) if quick else (100, 1000, 5000)
    results = [_one_database(None, sizes, quick)]
    base = pg_url()
    if base:
        results.append(_one_database(base, sizes, quick))
    return results
