"""amplify: 10,000 connected supporters and one organisation post. Time to plan the wave (one INSERT ... SELECT),
boosts per second against a fake Mastodon (its own process, reblogs idempotent per account as Mastodon's), peak
memory, duplicates (the server counts reblog calls and distinct reblogs), and a worker that dies holding boosts:
the rest of the wave does not wait for it, and its boosts are resent once its lease ends.

Window "0s" (a storm: every boost due at once), so the drain measures the dispatcher, not the window. The drain
runs through the real daemon loop (`Daemon.run`, as bench/fleet.py runs it), between two runs of a bare
Mastodon.py reblog loop (one client per supporter, the same concurrency, as many reblogs of the same post; B A B,
so drift in the machine's load falls on both), then, with no target, a bare loop making our adapter's request
(like for like). Each supporter boosts once, so its rate budget (300 per 3 h on Mastodon) never binds in the
comparison.

Planning the wave and preloading its accounts are also timed at ten times the size (`--quick`: 1,000 -> 10,000;
full: 10,000 -> 100,000 supporters; not drained): they should grow linearly, and 100,000 be planned in <= 3 s.
The preload is timed as a new process's first step (every connected supporter read): its largest case."""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from mastodon import Mastodon
from sqlalchemy import func, insert, select

from bench import fleet
from bench.common import (
    ServerProcess,
    check,
    drop_pg_database,
    emit,
    fresh_pg_database,
    load_average,
    peak_rss_mb,
    pg_url,
    write_world,
)
from bot.bootstrap import App, bootstrap
from bot.config.settings import load_config
from bot.networks.mastodon.transport import environment_once, untyped_post
from bot.outbox import workers
from bot.outbox.amplify import plan_waves
from bot.store.models import DeliveryRow
from bot.store.supporters import SUPPORTERS
from bot.supporters.crypto import Cipher, new_key
from bot.supporters.waves import tick
from bot.worker.dispatch import Dispatcher
from bot.worker.plan import plan
from tests import staff as lifecycle

CONCURRENCY = {"postgresql": 40, "sqlite": 8}  # SQLite's engine pools 15 connections
DEAD_HOLDS = 20  # boosts the dead worker claimed and never sent


def _db(what: str) -> str:
    """The scratch database's name, after the benchmark database's (two people benchmarking on one server
    never drop each other's)."""
    base = pg_url() or ""
    return f"{base.rsplit('/', 1)[-1].split('?')[0] or 'campaign_bot_bench'}_{what}"


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
             'mastodon_version = "4.5.0"\n[amplify]\nwindow = "0s"\nlocal_servers = true\n')
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
    database = "postgresql" if base else "sqlite"
    concurrency = CONCURRENCY[database]
    load0 = load_average()
    server = ServerProcess(latency=0.02)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_pg_database(base, _db("amplify")) if base else f"sqlite:///{tmp}/b.db"
            app = bootstrap(load_config(_config(Path(tmp), url, server.url, concurrency)))
            plan(app)
            _supporters(app, server.url, count, Cipher([key]))
            lifecycle.queue(app, "c00000", app.clock.now(), "The organisation's post {{ ask }}", "bench")
            Dispatcher(app).run_once()  # the organisation posts
            with app.sessions() as s:
                status_id = s.scalar(select(DeliveryRow.remote_id).where(DeliveryRow.action == "post",
                                                                         DeliveryRow.status == "sent"))
            # The bare loop before our drain and after it (B A B): drift in the machine's load falls on both
            before = _bare_reblogs(server.url, str(status_id), count, concurrency, "bare-before")

            plan_s = time.perf_counter()
            with app.engine.begin() as conn:  # the wave: one transaction, one INSERT ... SELECT
                planned = plan_waves(conn, app.clock.now(), app.config.amplify.window_seconds)
            plan_s = time.perf_counter() - plan_s
            preload_s = time.perf_counter()
            # The worker's step: this process's first, so it reads every connected supporter (one query); a worker
            # that was running before the wave read them at an earlier tick, and its wave's step reads none.
            tick(app)
            preload_s = time.perf_counter() - preload_s

            dead = bootstrap(load_config(Path(tmp) / "config.toml"))  # a second worker that dies holding boosts
            with dead.engine.begin() as conn:
                workers.beat(conn, dead.owner, dead.clock.now())
            with app.sessions() as s:
                victims = list(s.scalars(select(DeliveryRow.account_id).where(DeliveryRow.action == "boost")
                                         .order_by(DeliveryRow.id.desc()).limit(DEAD_HOLDS)))
            held_ids = [c.id for a in victims for c in Dispatcher(dead).claim_batch(a, 1)]
            held = len(held_ids)
            dead.engine.dispose()

            def boosts_left() -> bool:  # the dead worker's boosts count until their read-back settled them
                with app.engine.connect() as conn:
                    return not conn.scalar(select(func.count()).where(DeliveryRow.action == "boost",
                                                                      fleet.unsettled()))

            try:
                started = app.clock.now()
                cpu, wall = fleet.run_daemon(app, boosts_left, start_at=started, check_every=0.2)
                threads = dict(fleet.by_thread)
            except fleet.StoppedEarly as exc:
                return emit("amplify", supporters=count, database=database, stopped_early=str(exc))
            with app.sessions() as s:
                counts = dict(s.execute(select(DeliveryRow.status, func.count())
                                        .where(DeliveryRow.action == "boost").group_by(DeliveryRow.status)).all())
                resent = s.scalar(select(func.count()).where(DeliveryRow.action == "boost", DeliveryRow.attempts > 1))
                # The drain's rate: until the last boost not held by the dead worker went out (those wait for
                # the worker to be declared dead, 10 s, and are reported apart).
                last = s.scalar(select(func.max(DeliveryRow.sent_at)).where(DeliveryRow.action == "boost",
                                                                           DeliveryRow.id.not_in(held_ids)))
                drained = s.scalar(select(func.count()).where(DeliveryRow.action == "boost",
                                                              DeliveryRow.status == "sent",
                                                              DeliveryRow.id.not_in(held_ids)))
            after = _bare_reblogs(server.url, str(status_id), count, concurrency, "bare-after")
            like = _bare_reblogs(server.url, str(status_id), count, concurrency, "bare-like", untyped=True)
            stats = httpx.get(f"{server.url}/_stats", timeout=30).json()
            app.engine.dispose()
            if base:
                drop_pg_database(base, _db("amplify"))
            scale = _wave_scale(base, server.url, count, key)
    finally:
        server.close()
        del os.environ["CAMPAIGN_BOT_SECRET_KEY"]
    sent = counts.get("sent", 0)
    drain = (last - started).total_seconds()
    bare_cpu, bare_wall = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
    per_s, bare_per_s, like_per_s = drained / drain, count / bare_wall, count / like[1]
    small, large = scale
    growth = round((large[0] + large[1]) / max(small[0] + small[1], 1e-9) / 10, 2)
    checks = [check("boosts drained per s vs bare reblog loop", round(per_s / bare_per_s, 2), 0.9, at_most=False,
                    ours=round(per_s, 1), reference=round(bare_per_s, 1)),
              check(f"wave of {count * 10:,} supporters planned and preloaded (s)", round(large[0] + large[1], 2),
                    3.0 if count * 10 >= 100_000 else 0.3, unit=" s"),
              check(f"wave plan + preload growth {count:,} -> {count * 10:,} (per supporter)", growth, 1.25),
              check("duplicate boosts", stats["reblog_calls"] - stats["reblogs"], 0)]
    return emit("amplify", supporters=count, database=database, concurrency=concurrency,
                server_latency_ms=20, boosts_planned=planned, plan_wave_s=round(plan_s, 3),
                preload_accounts_s=round(preload_s, 3),
                wave_scale={f"{count}": {"plan_s": round(small[0], 3), "preload_s": round(small[1], 3)},
                            f"{count * 10}": {"plan_s": round(large[0], 3), "preload_s": round(large[1], 3)}},
                boosts_sent=sent, drain_s=round(drain, 2), all_sent_s=round(wall, 2), boosts_per_second=round(per_s, 1),
                bare_boosts_per_second=round(bare_per_s, 1),
                cpu_ms_per_boost=round(cpu / max(sent, 1) * 1000, 2),
                bare_cpu_ms_per_boost=round(bare_cpu / count * 1000, 2),
                bare_rounds_per_second=[round(count / before[1], 1), round(count / after[1], 1)],
                # Like for like (no target): the bare loop making our adapter's request (its answer untyped, the
                # environment read once)
                like_for_like={"bare_boosts_per_second": round(like_per_s, 1),
                               "bare_cpu_ms_per_boost": round(like[0] / count * 1000, 2),
                               "throughput_ratio": round(per_s / like_per_s, 2)},
                cpu_s_by_thread={k: round(v, 2) for k, v in threads.items()},
                dead_worker_held=held, resent_after_its_lease=resent,
                reblog_calls=stats["reblog_calls"], distinct_reblogs=stats["reblogs"],
                duplicates=stats["reblog_calls"] - stats["reblogs"], peak_rss_mb=round(peak_rss_mb(), 1),
                load_average=[load0, load_average()], checks=checks)


def _bare_reblogs(server: str, status_id: str, count: int, concurrency: int, who: str,
                  untyped: bool = False) -> tuple[float, float]:
    """A plain Mastodon.py loop: ``count`` supporters (a client each, built in the loop as ours builds its
    adapters; tokens ``who``-i, each reblogging once) reblog one status, ``concurrency`` threads. ``untyped``: the
    request our adapter makes (bench/fleet.py `bare_post`). (CPU seconds, wall seconds)."""
    def boost(i: int) -> None:
        client = Mastodon(access_token=f"{who}-{i}", api_base_url=server, mastodon_version="4.5.0",
                          version_check_mode="none", ratelimit_method="throw")
        if untyped:
            environment_once(client.session, server)
            untyped_post(client, f"/api/v1/statuses/{status_id}/reblog")
        else:
            client.status_reblog(status_id)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(boost, range(count)))
    return time.process_time() - cpu0, time.perf_counter() - wall0


def _wave_scale(base: str | None, server: str, count: int, key: str) -> list[tuple[float, float]]:
    """(plan seconds, preload seconds) of a wave of ``count`` and of ``10 * count`` supporters (not drained)."""
    out = []
    for size in (count, count * 10):
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_pg_database(base, _db("wave")) if base else f"sqlite:///{tmp}/w.db"
            app = bootstrap(load_config(_config(Path(tmp), url, server, 8)))
            try:
                plan(app)
                _supporters(app, server, size, Cipher([key]))
                lifecycle.queue(app, "c00000", app.clock.now(), "The organisation's post {{ ask }}", "bench")
                Dispatcher(app).run_once()
                started = time.perf_counter()
                with app.engine.begin() as conn:
                    plan_waves(conn, app.clock.now(), app.config.amplify.window_seconds)
                planned = time.perf_counter() - started
                started = time.perf_counter()
                tick(app)
                out.append((planned, time.perf_counter() - started))
            finally:
                app.engine.dispose()
                if base:
                    drop_pg_database(base, _db("wave"))
    return out
