"""peer: the same posts scheduled the naive way, one APScheduler job per post in a SQLAlchemyJobStore. Time to
schedule, time to restart and memory, each against ours as a ratio (naive / ours).

Start and restart are each a NEW PROCESS (interpreter, imports, config, files, database), timed from its launch
until it could send its first post: ours is the real `campaign-bot run` (python -m bot run), until it logs the
next due time after its first plan ("next post: ..."; its dispatch loop runs from the start, so a post already
due may even go out sooner); the naive bot (bench/naive.py) until it has loaded its jobs and added the missing
ones. Ours and the naive one alternate A B A B. Both run with cached bytecode (the interpreter's own default:
a deployed package is compiled at install), in a cache of this run's own. CPU is each process's, read at that
instant. On SQLite, and on PostgreSQL (ours and the naive job store both) when a PostgreSQL URL is set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.common import REPO, check, drop_pg_database, emit, fresh_pg_database, load_average, pg_url, write_world
from bench.naive import READY, naive_schedule
from bot.bootstrap import bootstrap
from bot.config.settings import load_config
from bot.worker.plan import plan

OURS_READY = "next post:"


def _traced(fn) -> float:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process(args: list[str], marker: str, stream: str, pycache: str, cwd: Path = REPO) -> tuple[float, float]:
    """(wall seconds, CPU seconds) from launching ``python args`` in ``cwd`` (``-m`` imports the bot from there)
    until it printed ``marker`` on ``stream`` (stdout or stderr); then it is stopped (SIGTERM: ours finishes as
    it would at a deploy)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    if cwd != REPO:  # another checkout: its bot, even where PYTHONPATH names this one
        env["PYTHONPATH"] = str(cwd)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL,
                            stderr=subprocess.PIPE if stream == "stderr" else subprocess.DEVNULL)
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    assert pipe is not None
    seen = []
    for line in pipe:
        if marker in line:
            wall, cpu = time.perf_counter() - start, _cpu_of(proc.pid)
            break
        seen.append(line)
    else:
        proc.wait()
        raise RuntimeError(f"{args[:3]} ended without {marker!r}: {''.join(seen[-5:])}")
    proc.send_signal(signal.SIGTERM)
    pipe.read()
    if proc.wait(timeout=120) not in (0, -signal.SIGTERM):
        raise RuntimeError(f"{args[:3]} exited with {proc.returncode}")
    return wall, cpu


def _ours(cfg: Path, pycache: str, checkout: Path = REPO) -> tuple[float, float]:
    return _process(["-m", "bot", "run", "--config", str(cfg)], OURS_READY, "stderr", pycache, checkout)


def _naive(cfg: Path, store: str, pycache: str) -> tuple[float, float]:
    return _process(["-m", "bench.naive", str(cfg), store], READY, "stdout", pycache)


def _one_database(base: str | None, campaigns: int) -> dict:
    load0 = load_average()
    database = "postgresql" if base else "sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        ours_url = fresh_pg_database(base, "campaign_bot_bench_peer") if base else f"sqlite:///{tmp}/ours.db"
        store = (fresh_pg_database(base, "campaign_bot_bench_peer_naive").replace("postgresql://",
                                                                                 "postgresql+psycopg://", 1)
                 if base else f"sqlite:///{tmp}/naive.db")
        try:
            cfg = write_world(Path(tmp) / "timed", campaigns, accounts=50, database_url=ours_url, horizon_days=30)
            pycache = f"{tmp}/pycache"
            ours_schedule, ours_schedule_cpu = _ours(cfg, pycache)
            naive_schedule_s, naive_schedule_cpu = _naive(cfg, store, pycache)
            ours_restarts, naive_restarts = [], []
            for _ in range(2):  # A B A B
                ours_restarts.append(_ours(cfg, pycache))
                naive_restarts.append(_naive(cfg, store, pycache))
            jobs = naive_schedule(load_config(cfg), store)
            peaks = None
            if base is None:
                traced_cfg = write_world(Path(tmp) / "traced", campaigns, accounts=50,
                                         database_url=f"sqlite:///{tmp}/traced/ours.db", horizon_days=30)
                peaks = (_traced(lambda: plan(bootstrap(load_config(traced_cfg)))),
                         _traced(lambda: naive_schedule(load_config(traced_cfg), f"sqlite:///{tmp}/n2.db")))
        finally:
            if base:
                drop_pg_database(base, "campaign_bot_bench_peer")
                drop_pg_database(base, "campaign_bot_bench_peer_naive")
    ours_restart = sum(w for w, _ in ours_restarts) / 2
    naive_restart = sum(w for w, _ in naive_restarts) / 2
    ours_cpu = sum(c for _, c in ours_restarts) / 2
    naive_cpu = sum(c for _, c in naive_restarts) / 2
    checks = [check("schedule (a new process) vs one APScheduler job per post",
                    round(naive_schedule_s / ours_schedule, 1),
                    10, at_most=False, ours=round(ours_schedule, 2), reference=round(naive_schedule_s, 2)),
              check("restart (a new process) to its first send vs naive", round(naive_restart / ours_restart, 1), 10,
                    at_most=False, ours=round(ours_restart, 2), reference=round(naive_restart, 2)),
              check("restart CPU (a new process) vs naive", round(naive_cpu / ours_cpu, 1), 10,
                    at_most=False, ours=round(ours_cpu, 2), reference=round(naive_cpu, 2))]
    memory = {} if peaks is None else {"ours_peak_mb": round(peaks[0], 1), "naive_peak_mb": round(peaks[1], 1),
                                       "memory_ratio": round(peaks[1] / peaks[0], 2)}
    return emit("peer", database=f"{database} (ours and the naive job store)", campaigns=campaigns, posts=jobs,
                ours_schedule_s=round(ours_schedule, 2), naive_schedule_s=round(naive_schedule_s, 2),
                ours_schedule_cpu_s=round(ours_schedule_cpu, 2), naive_schedule_cpu_s=round(naive_schedule_cpu, 2),
                schedule_ratio=round(naive_schedule_s / ours_schedule, 1),
                ours_restart_s=[round(w, 3) for w, _ in ours_restarts],
                naive_restart_s=[round(w, 2) for w, _ in naive_restarts],
                ours_restart_cpu_s=[round(c, 3) for _, c in ours_restarts],
                naive_restart_cpu_s=[round(c, 2) for _, c in naive_restarts],
                restart_ratio=round(naive_restart / ours_restart, 1),
                restart_cpu_ratio=round(naive_cpu / ours_cpu, 1), **memory, target_ratio=10,
                restart="a new process each, from launch until it could send", load_average=[load0, load_average()],
                checks=checks)


def run(quick: bool) -> list[dict]:
    campaigns = 100 if quick else 1000
    results = [_one_database(None, campaigns)]
    base = pg_url()
    if base:
        results.append(_one_database(base, campaigns))
    return results
