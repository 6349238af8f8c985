"""claim: time to claim with 10,000 and with 1,000,000 pending rows on PostgreSQL, on the daemon's own path (an
account's kept autocommit connection: the batch read of up to 20 due rows, then one claim per row right before
its send). It should stay flat."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.common import check, drop_pg_database, emit, fresh_pg_database, load_average, pg_url, write_world
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.outbox.link import Link
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan

DB = "campaign_bot_bench_claim"


def _fill(app, rows: int) -> None:  # type: ignore[no-untyped-def]
    """Pending rows spread over 100 accounts, half due now and half in the coming month."""
    with app.engine.begin() as conn:
        conn.execute(text("DELETE FROM deliveries"))
        conn.execute(text("""
            INSERT INTO deliveries (plan_key, campaign_id, account_id, network, kind, language, text, media,
                                    reply_in_thread, due_at, status, attempts, created_at, updated_at)
            SELECT 'bench|' || g, 'c00000', 'a' || (g % 100), 'console', 'queued', 'en', 'Delivery ' || g, '[]',
                   false, now() - interval '10 minutes' + (g % 2) * interval '20 days', 'planned', 0, now(), now()
            FROM generate_series(1, :n) AS g
        """), {"n": rows})
        conn.execute(text("ANALYZE deliveries"))


def _claim_times(app, samples: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds per batch of 20 on the daemon's path (Dispatcher._run_account): read the due batch, claim each."""
    dispatcher = Dispatcher(app)
    times = []
    with Link(app.engine, auto=True) as link:
        for i in range(samples):
            account = f"a{i % 100}"
            start = time.perf_counter()
            rows = dispatcher._due_batch(link, account, 20)
            claimed = [c for c in (dispatcher._take_one(link, account, r) for r in rows) if c is not None]
            times.append(time.perf_counter() - start)
            dispatcher.release(claimed, "benchmark")
    return times


def run(quick: bool) -> dict:
    base = pg_url()
    if not base:
        return emit("claim", skipped="needs CAMPAIGN_BOT_TEST_POSTGRES_URL (or CAMPAIGN_BOT_BENCH_POSTGRES_URL)")
    small, large = (10_000, 100_000) if quick else (10_000, 1_000_000)
    url = fresh_pg_database(base, DB)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = write_world(Path(tmp), 1, accounts=100, database_url=url)
            app = bootstrap(load_config(cfg))
            plan(app)
            results = {}
            for rows in (small, large):
                _fill(app, rows)
                _claim_times(app, 20)  # warm up
                results[rows] = statistics.median(_claim_times(app, 200))
            app.engine.dispose()
    finally:
        drop_pg_database(base, DB)
    return emit("claim", database="postgresql", batch=20, pending_small=small, pending_large=large,
                claim_ms_small=round(results[small] * 1000, 2), claim_ms_large=round(results[large] * 1000, 2),
                ratio=round(results[large] / results[small], 2), target_ratio=1.5, load_average=load_average(),
                path="daemon: batch read + one claim per row, kept autocommit connection",
                checks=[check(f"claim a batch of 20: {large:,} vs {small:,} pending",
                              round(results[large] / results[small], 2), 1.5,
                              ours=round(results[large] * 1000, 2), reference=round(results[small] * 1000, 2))])
