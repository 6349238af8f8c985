"""plan: 1,000 active campaigns x 3 rules x 30 days. Time to plan, to re-plan with nothing changed, peak memory.

Times are taken without tracing; peak memory in a separate traced pass (tracemalloc slows Python down). The
first plan's CPU time is printed beside its wall time: on a shared machine the wall time says more about the
neighbours than about us."""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import func, select

from bench.common import emit, timed, write_world
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.store.models import DeliveryRow
from bot.worker.plan import plan


def _world(tmp: str, name: str, campaigns: int) -> Path:
    folder = Path(tmp) / name
    return write_world(folder, campaigns, accounts=50, database_url=f"sqlite:///{folder}/bench.db", horizon_days=30)


def run(quick: bool) -> dict:
    campaigns = 100 if quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        app = bootstrap(load_config(_world(tmp, "timed", campaigns)))
        cpu = time.process_time()
        first, _ = timed(lambda: plan(app))
        first_cpu = time.process_time() - cpu
        again, report = timed(lambda: plan(app))
        with app.sessions() as s:
            rows = s.scalar(select(func.count()).select_from(DeliveryRow))
        app.engine.dispose()

        traced = bootstrap(load_config(_world(tmp, "traced", campaigns)))
        tracemalloc.start()
        plan(traced)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        traced.engine.dispose()
    return emit("plan", database="sqlite", campaigns=campaigns, rules_per_campaign=3, days=30, deliveries=rows,
                plan_s=round(first, 3), plan_cpu_s=round(first_cpu, 3), target_plan_s=3.0,
                replan_unchanged_s=round(again, 3),
                replan_changes=report.inserted + report.updated + report.cancelled,
                peak_python_memory_mb=round(peak / 2**20, 1), target_replan_s=1.0)
