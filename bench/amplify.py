"""amplify: 10,000 connected supporters and one organisation post. Time to plan the wave (one INSERT ... SELECT),
boosts per second against a fake Mastodon (its own process, reblogs idempotent per account as Mastodon's), peak
memory, duplicates (the server counts reblog calls and distinct reblogs), and a worker that dies holding boosts:
the rest of the wave does not wait for it, and its boosts are resent once its lease ends.

Window "0s" (a storm: every boost due at once), so the drain measures the dispatcher, not the window."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from bench.common import ServerProcess, drop_pg_database, emit, fresh_pg_database, peak_rss_mb, pg_url, write_world
from bot.bootstrap import App, bootstrap
from bot.config.settings import load_config
from bot.outbox import workers
from bot.outbox.amplify import plan_waves
from bot.store.models import DeliveryRow
from bot.store.supporters import SUPPORTERS
from bot.supporters.crypto import Cipher, new_key
from bot.supporters.waves import tick
from bot.worker.daemon import Daemon
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle

CONCURRENCY = {"postgresql": 40, "sqlite": 8}  # SQLite's engine pools 15 connections
DEAD_HOLDS = 20  # boosts the dead worker claimed and never sent


def _config(folder: Path, url: str, server: str, concurrency: int) -> Path:
    cfg = write_world(folder, 1, accounts=1, database_url=url, concurrency=concurrency, poll_seconds=0.5,
                      lease_seconds=5)
    campaign = folder / "campaigns" / "c00000.toml"
    campaign.write_text(campaign.read_text().replace('accounts = ["a0"]', 'accounts = ["org"]')
                        .replace('cron = "0 9 * * *"', 'at = [2030-01-01T09:00:00]')
                        .replace('cron = "0 13 * * 1-5"', 'at = [2030-01-02T09:00:00]')
                        .replace('cron = "30 17 * * *"', 'at = [2030-01-03T09:00:00]'))
    text = cfg.read_text().replace('[accounts.a0]\nnetwork = "console"\n', "")
    text += (f'[accounts.org]\nnetwork = "mastodon"\napi_base_url = "{server}"\naccess_token_env = "BENCH_TOKEN"\n'
             'mastodon_version = "4.5.0"\n[amplify]\nwindow = "0s"\n')
    cfg.write_text(text)
    return cfg


def _supporters(app: App, server: str, count: int, cipher: Cipher) -> None:
    """Bulk setup (not measured): ``count`` connected supporters on the fake server, each with its own token."""
    now = app.clock.now()
    rows = [{"name": f"s{i}", "network": "mastodon", "instance": "fake.local", "api_base_url": server,
             "handle": f"s{i}@fake.local", "credentials": cipher.encrypt(f'{{"access_token": "tok-{i}"}}'),
             "all_campaigns": True, "state": "connected", "created_at": now, "updated_at": now}
            for i in range(count)]
    with app.engine.begin() as conn:
        conn.execute(insert(SUPPORTERS), rows)


def run(quick: bool) -> dict:
    count = 1000 if quick else 10_000
    key = new_key()
    os.environ["BENCH_TOKEN"] = "bench-token"
    os.environ["CAMPAIGN_BOT_SECRET_KEY"] = key
    base = pg_url()
    concurrency = CONCURRENCY["postgresql" if base else "sqlite"]
    server = ServerProcess(latency=0.02)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_pg_database(base, "campaign_bot_bench_amplify") if base else f"sqlite:///{tmp}/b.db"
            app = bootstrap(load_config(_config(Path(tmp), url, server.url, concurrency)))
            plan(app)
            _supporters(app, server.url, count, Cipher([key]))
            lifecycle.queue(app, "c00000", app.clock.now(), "The organisation's post {{ ask }}", "bench")
            Dispatcher(app).run_once()  # the organisation posts

            plan_s = time.perf_counter()
            with app.engine.begin() as conn:  # the wave: one transaction, one INSERT ... SELECT
                planned = plan_waves(conn, app.clock.now(), app.config.amplify.window_seconds)
            plan_s = time.perf_counter() - plan_s
            preload_s = time.perf_counter()
            tick(app)  # what the worker's step does next: reads the wave's supporters in one query
            preload_s = time.perf_counter() - preload_s

            dead = bootstrap(load_config(Path(tmp) / "config.toml"))  # a second worker that dies holding boosts
            with dead.engine.begin() as conn:
                workers.beat(conn, dead.owner, dead.clock.now())
            with app.sessions() as s:
                victims = list(s.scalars(select(DeliveryRow.account_id).where(DeliveryRow.action == "boost")
                                         .order_by(DeliveryRow.id.desc()).limit(DEAD_HOLDS)))
            held = sum(len(Dispatcher(dead).claim_batch(a, 1)) for a in victims)
            dead.engine.dispose()

            daemon = Daemon(app)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            while time.perf_counter() - wall0 < 1800:
                daemon.dispatch_job()
                with app.sessions() as s:
                    counts = dict(s.execute(select(DeliveryRow.status, func.count())
                                            .where(DeliveryRow.action == "boost").group_by(DeliveryRow.status)).all())
                if not counts.get("planned") and not counts.get("sending"):
                    break
                time.sleep(0.2)
            daemon.stopping.set()
            daemon.pool.shutdown(wait=True)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            with app.sessions() as s:
                resent = s.scalar(select(func.count()).where(DeliveryRow.action == "boost", DeliveryRow.attempts > 1))
            stats = httpx.get(f"{server.url}/_stats", timeout=30).json()
            app.engine.dispose()
            if base:
                drop_pg_database(base, "campaign_bot_bench_amplify")
    finally:
        server.close()
        del os.environ["CAMPAIGN_BOT_SECRET_KEY"]
    sent = counts.get("sent", 0)
    return emit("amplify", supporters=count, database="postgresql" if base else "sqlite", concurrency=concurrency,
                server_latency_ms=20, boosts_planned=planned, plan_wave_s=round(plan_s, 3),
                preload_accounts_s=round(preload_s, 3),
                boosts_sent=sent, drain_s=round(wall, 2), boosts_per_second=round(sent / wall, 1),
                cpu_ms_per_boost=round(cpu / max(sent, 1) * 1000, 2),
                dead_worker_held=held, resent_after_its_lease=resent,
                reblog_calls=stats["reblog_calls"], distinct_reblogs=stats["reblogs"],
                duplicates=stats["reblog_calls"] - stats["reblogs"], peak_rss_mb=round(peak_rss_mb(), 1))
