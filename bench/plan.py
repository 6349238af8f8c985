"""plan: 1,000 active campaigns x 3 rules x 30 days. Time to plan, to re-plan with nothing changed, peak memory."""

from __future__ import annotations

import tempfile
import tracemalloc
from pathlib import Path

from sqlalchemy import func, select

from bench.common import emit, timed, write_world
from bot.app import bootstrap
from bot.config import load_config
from bot.planner import plan
from bot.store.models import DeliveryRow


def run(quick: bool) -> dict:
    campaigns = 100 if quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_world(Path(tmp), campaigns, accounts=50, database_url=f"sqlite:///{tmp}/bench.db",
                          horizon_days=30)
        app = bootstrap(load_config(cfg))
        tracemalloc.start()
        first, report = timed(lambda: plan(app))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        again, report2 = timed(lambda: plan(app))
        with app.sessions() as s:
            rows = s.scalar(select(func.count()).select_from(DeliveryRow))
        app.engine.dispose()
    return emit("plan", campaigns=campaigns, rules_per_campaign=3, days=30, deliveries=rows,
                plan_s=round(first, 3), replan_unchanged_s=round(again, 3),
                replan_changes=report2.inserted + report2.updated + report2.cancelled,
                peak_python_memory_mb=round(peak / 2**20, 1), target_replan_s=1.0)
