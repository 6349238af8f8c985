"""burst: 10,000 posts due at one instant across 100 accounts, 20 ms server (see bench/dispatch.py)."""

from __future__ import annotations

from bench.dispatch import measure


def run(quick: bool) -> dict:
    return measure("burst", 1000 if quick else 10_000, 100, 40, cpu_target=None, throughput_target=0.9)
