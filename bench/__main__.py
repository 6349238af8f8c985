"""python -m bench [--quick] [NAME ...]: run the benchmarks; each prints one JSON line with its figures."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
import traceback

NAMES = ["plan", "dispatch", "burst", "steady", "takeover", "claim", "peer", "idle", "validate", "reach", "amplify",
         "scaleout"]
ONLY_BY_NAME = ["restart"]
"""Run only when named: restart is peer's restart part alone (bench/restart.py), for measuring it often."""


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small versions, under two minutes in all")
    parser.add_argument("names", nargs="*", choices=[[], *NAMES, *ONLY_BY_NAME], default=[],
                        metavar="NAME", help=f"which to run (default all: {', '.join(NAMES)}; also, only when named: "
                                             f"{', '.join(ONLY_BY_NAME)})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    from bench.common import RECORDS, emit, load_average, summary

    started = time.perf_counter()
    for name in args.names or NAMES:
        module = importlib.import_module(f"bench.{name}")
        try:
            module.run(args.quick)
        except Exception as exc:  # noqa: BLE001 - one benchmark's failure is reported; the others still run
            traceback.print_exc()
            emit(name, stopped_early=f"{type(exc).__name__}: {exc}", load_average=load_average())
    print(f"\nSummary ({'quick' if args.quick else 'full'} run, {time.perf_counter() - started:.0f} s, "
          f"load average now {load_average()}):")
    print(summary(RECORDS), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
