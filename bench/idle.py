"""idle: a daemon with 1,000 active campaigns: its CPU over 60 seconds, and its resident memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO, emit, write_world

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(quick: bool) -> dict:
    campaigns, window = (200, 10) if quick else (1000, 60)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_world(Path(tmp), campaigns, accounts=50, database_url=f"sqlite:///{tmp}/idle.db")
        log = Path(tmp) / "daemon.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(cfg)], cwd=REPO,
                                    stdout=subprocess.DEVNULL, stderr=out)
        try:
            deadline = time.monotonic() + 300
            while "planned:" not in log.read_text() and time.monotonic() < deadline:  # the first plan is work
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
    return emit("idle", database="sqlite", campaigns=campaigns, window_s=window,
                cpu_percent=round(100 * cpu / elapsed, 2),
                rss_mb=round(rss, 1), target_cpu_percent=1, target_rss_mb=150)
