"""idle: a daemon (`campaign-bot run`, its own process) with 1,000 active campaigns: its CPU over 60 seconds, and its
resident memory. On SQLite, and on PostgreSQL when a PostgreSQL URL is set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO, check, drop_pg_database, emit, fresh_pg_database, load_average, pg_url, write_world

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _one_database(base: str | None, campaigns: int, window: int) -> dict:
    load0 = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_pg_database(base, "campaign_bot_bench_idle") if base else f"sqlite:///{tmp}/idle.db"
        cfg = write_world(Path(tmp), campaigns, accounts=50, database_url=url)
        log = Path(tmp) / "daemon.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(cfg)], cwd=REPO,
                                    stdout=subprocess.DEVNULL, stderr=out)
        try:
            deadline = time.monotonic() + 300
            while "planned:" not in log.read_text() and time.monotonic() < deadline:  # the first plan is work
                if proc.poll() is not None:
                    tail = log.read_text().strip().splitlines()[-1:] or ["(no log)"]
                    return emit("idle", database="postgresql" if base else "sqlite",
                                stopped_early=f"the daemon exited ({proc.returncode}): {tail[0]}")
                time.sleep(0.5)
            time.sleep(3)
            cpu0, wall0 = _cpu_seconds(proc.pid), time.monotonic()
            time.sleep(window)
            cpu = _cpu_seconds(proc.pid) - cpu0
            elapsed = time.monotonic() - wall0
            rss = _rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            if base:
                drop_pg_database(base, "campaign_bot_bench_idle")
    percent = round(100 * cpu / elapsed, 2)
    return emit("idle", database="postgresql" if base else "sqlite", campaigns=campaigns, window_s=window,
                cpu_percent=percent, rss_mb=round(rss, 1), target_cpu_percent=1, target_rss_mb=150,
                load_average=[load0, load_average()],
                checks=[check(f"idle CPU %, {campaigns:,} campaigns, {window} s", percent, 1, unit=" %"),
                        check("idle resident memory MB", round(rss, 1), 150, unit=" MB")])


def run(quick: bool) -> list[dict]:
    campaigns, window = (200, 10) if quick else (1000, 60)
    results = [_one_database(None, campaigns, window)]
    base = pg_url()
    if base:
        results.append(_one_database(base, campaigns, window))
    return results
