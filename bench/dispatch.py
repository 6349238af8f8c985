"""dispatch: 10,000 deliveries due at once across 100 accounts, against a fake Mastodon (its own process) with
20 ms latency and rate limits lifted. Drain time, lateness, throughput, and our CPU per delivery against a bare
Mastodon.py loop posting as many statuses to the same server with the same concurrency."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mastodon import Mastodon
from sqlalchemy import select

from bench.common import ServerProcess, drop_pg_database, emit, fresh_pg_database, pg_url, write_world
from bot import lifecycle
from bot.app import bootstrap
from bot.config import load_config
from bot.daemon import Daemon
from bot.planner import plan
from bot.store.models import DeliveryRow

CONCURRENCY = 40  # accounts sending at once; with PostgreSQL's default 100 connections
LIFTED = "rate_budget = [{ limit = 1000000, per_seconds = 60 }]\n"


def _config(folder: Path, url: str, server: str, accounts: int) -> Path:
    cfg = write_world(folder, 1, accounts=1, database_url=url, concurrency=min(accounts, CONCURRENCY),
                      poll_seconds=0.5)
    campaign = folder / "campaigns" / "c00000.toml"
    ids = ", ".join(f'"m{i}"' for i in range(accounts))
    campaign.write_text(campaign.read_text().replace('accounts = ["a0"]', f"accounts = [{ids}]")
                        .replace('cron = "0 9 * * *"', 'at = [2030-01-01T09:00:00]')
                        .replace('cron = "0 13 * * 1-5"', 'at = [2030-01-02T09:00:00]')
                        .replace('cron = "30 17 * * *"', 'at = [2030-01-03T09:00:00]'))
    text = cfg.read_text().replace('[accounts.a0]\nnetwork = "console"\n', "")
    for i in range(accounts):
        text += (f'[accounts.m{i}]\nnetwork = "mastodon"\napi_base_url = "{server}"\naccess_token_env = "BENCH_TOKEN"\n'
                 f'mastodon_version = "4.5.0"\n{LIFTED}')
    cfg.write_text(text)
    return cfg


def run(quick: bool) -> dict:
    total, accounts = (1000, 20) if quick else (10_000, 100)
    os.environ["BENCH_TOKEN"] = "bench-token"
    base = pg_url()
    server = ServerProcess(latency=0.02)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_pg_database(base, "campaign_bot_bench_dispatch") if base else f"sqlite:///{tmp}/b.db"
            cfg = _config(Path(tmp), url, server.url, accounts)
            app = bootstrap(load_config(cfg))
            plan(app)
            due = app.clock.now()
            per_account = total // accounts
            for n in range(per_account):
                lifecycle.queue(app, "c00000", due, f"Delivery {n} for {{{{ ask }}}}", "bench")
            daemon = Daemon(app)
            for account in app.config.accounts:  # connections, clients and instance limits, as in a running daemon
                app.network(account).limit()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            while True:
                daemon.dispatch_job()
                with app.sessions() as s:
                    left = s.scalar(select(DeliveryRow.id).where(DeliveryRow.status.in_(("planned", "sending")),
                                                                 DeliveryRow.kind == "queued").limit(1))
                if left is None:
                    break
                time.sleep(0.5)  # our polling is counted in our CPU: keep it as light as the daemon's
            daemon.pool.shutdown(wait=True)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            with app.sessions() as s:
                rows = s.execute(select(DeliveryRow.sent_at, DeliveryRow.due_at, DeliveryRow.status)
                                 .where(DeliveryRow.kind == "queued")).all()
            app.engine.dispose()
            if base:
                drop_pg_database(base, "campaign_bot_bench_dispatch")
        sent = [r for r in rows if r.status == "sent"]
        lateness = sorted((r.sent_at - r.due_at).total_seconds() for r in sent)
        bare_cpu = _bare(server.url, len(sent), accounts)
    finally:
        server.close()
    ours = cpu / len(sent)
    return emit("dispatch", deliveries=len(sent), accounts=accounts, concurrency=min(accounts, CONCURRENCY),
                database="postgresql" if base else "sqlite",
                server_latency_ms=20, drain_s=round(wall, 2), per_second=round(len(sent) / wall, 1),
                lateness_p50_s=round(statistics.median(lateness), 3),
                lateness_p99_s=round(lateness[int(len(lateness) * 0.99) - 1], 3),
                cpu_ms_per_delivery=round(ours * 1000, 3), bare_cpu_ms_per_post=round(bare_cpu * 1000, 3),
                cpu_ratio=round(ours / bare_cpu, 2), target_cpu_ratio=1.3, target_p99_s=1.0)


def _bare(server: str, count: int, concurrency: int) -> float:
    """CPU per post of a plain Mastodon.py loop, same server, same concurrency."""
    clients = [Mastodon(access_token="bare", api_base_url=server, mastodon_version="4.5.0",
                        version_check_mode="created", ratelimit_method="throw") for _ in range(concurrency)]

    def post(i: int) -> None:
        clients[i % concurrency].status_post(f"bare {i}", language="en", idempotency_key=f"bare-{i}")

    cpu0 = time.process_time()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, range(count)))
    return (time.process_time() - cpu0) / count
