"""Shared helpers for the benchmarks: a world of campaign files, a config, and one JSON line per result."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

TARGETS = '[minister]\nname = "Minister"\nx = "@Minister"\n'

CAMPAIGN = """title = "Campaign {n}"
languages = ["en"]
timezone = "{tz}"
ask = "Act for case {n}"
link = "https://example.org/ua/{n}"
targets = ["minister"]
accounts = ["{account}"]

[[schedule]]
id = "morning"
cron = "0 9 * * *"
[[schedule]]
id = "weekday-lunch"
cron = "0 13 * * 1-5"
[[schedule]]
id = "evening"
cron = "30 17 * * *"
jitter_minutes = 5

[[messages.call_to_action]]
text = "Case {n}: {{{{ targets[0].mention }}}}, {{{{ ask }}}} {{{{ link }}}}"
[[messages.call_to_action]]
text = "Still waiting on case {n}. {{{{ ask }}}} {{{{ link }}}}"
[messages.closing.success]
text = "No further action is requested. Many thanks to all who sent appeals."
[messages.closing.no_further_action]
text = "No further action is requested."
"""

ZONES = ["America/Lima", "Europe/London", "Asia/Manila", "Africa/Nairobi", "UTC"]


def write_world(folder: Path, campaigns: int, accounts: int, database_url: str, **bot: Any) -> Path:
    cdir = folder / "campaigns"
    cdir.mkdir(parents=True, exist_ok=True)
    (cdir / "targets.toml").write_text(TARGETS)
    for n in range(campaigns):
        (cdir / f"c{n:05d}.toml").write_text(CAMPAIGN.format(n=n, tz=ZONES[n % len(ZONES)],
                                                            account=f"a{n % accounts}"))
    lines = ["[bot]", f'database_url = "{database_url}"', f'campaigns_dir = "{cdir}"']
    lines += [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in bot.items()]
    for a in range(accounts):
        lines += [f"[accounts.a{a}]", 'network = "console"']
    cfg = folder / "config.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


RECORDS: list[dict[str, Any]] = []
"""Every line emitted in this run, for the summary table that `python -m bench` prints at the end."""


def emit(name: str, **figures: Any) -> dict[str, Any]:
    record = {"benchmark": name, **figures}
    print(json.dumps(record), flush=True)
    RECORDS.append(record)
    return record


def check(figure: str, value: float | None, target: float, *, at_most: bool = True, ours: Any = None,
          reference: Any = None, unit: str = "") -> dict[str, Any]:
    """One row of the summary: ``value`` (the figure itself, or ours / reference as a ratio) against its target.
    ``ours`` and ``reference`` are shown beside it when the value is a ratio."""
    met = value is not None and value == value and (value <= target if at_most else value >= target)
    return {"figure": figure, "value": value, "target": f"{'≤' if at_most else '≥'} {target:g}{unit}",
            "ours": ours, "reference": reference, "met": met}


def _one_line(reason: str, limit: int = 200) -> str:
    """Why a benchmark was not measured, in the table: its first line, cut (a driver's error can carry the whole
    statement: 2 MB once; the JSON line above the table keeps it whole)."""
    first = reason.strip().splitlines()[0] if reason.strip() else ""
    return first if len(first) <= limit else first[:limit - 3] + "..."


def summary(records: list[dict[str, Any]]) -> str:
    """A table of every checked figure of the run: figure | ours | reference | value | target | met or missed."""
    rows = [("benchmark", "database", "figure", "ours", "reference", "value", "target", "")]
    for r in records:
        for c in r.get("checks", []):
            rows.append((r["benchmark"], str(r.get("database", "")).split(" ")[0], c["figure"],
                         "" if c["ours"] is None else str(c["ours"]),
                         "" if c["reference"] is None else str(c["reference"]),
                         "-" if c["value"] is None else f"{c['value']:g}", c["target"],
                         "met" if c["met"] else "MISSED"))
        if r.get("stopped_early") or r.get("skipped"):
            rows.append((r["benchmark"], str(r.get("database", "")), "(not measured)", "", "", "-", "",
                         _one_line(str(r.get("stopped_early") or r.get("skipped")))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pg_url() -> str | None:
    return os.environ.get("CAMPAIGN_BOT_BENCH_POSTGRES_URL") or os.environ.get("CAMPAIGN_BOT_TEST_POSTGRES_URL")


def _own(base: str, name: str) -> str:
    """``name`` suffixed with the database of ``base``: two benchmark runs on one server, each given its own
    database, no longer drop each other's working database (`DROP ... WITH (FORCE)` ended the other run)."""
    from sqlalchemy.engine import make_url

    database = make_url(base).database
    return f"{name}_{database}" if database else name


def fresh_pg_database(base: str, name: str) -> str:
    from tests.pg import create_database

    return create_database(base, _own(base, name))[0]


def drop_pg_database(base: str, name: str) -> None:
    from tests.pg import drop_database

    drop_database(base, _own(base, name))


class ServerProcess:
    """A fake Mastodon in its own process, so its CPU is not counted as ours."""

    def __init__(self, latency: float) -> None:
        code = (f"import sys, time; sys.path.insert(0, {str(REPO)!r})\n"
                "from tests.fake_networks import FakeMastodon\n"
                f"s = FakeMastodon(latency={latency!r}).start(); print(s.url, flush=True)\n"
                "sys.stdin.read()\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value
