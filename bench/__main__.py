"""python -m bench [--quick] [NAME ...]: run the benchmarks; each prints one JSON line with its figures."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

NAMES = ["plan", "dispatch", "burst", "steady", "takeover", "claim", "peer", "idle", "validate", "reach", "amplify"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small versions, under two minutes in all")
    parser.add_argument("names", nargs="*", choices=[[], *NAMES], default=[], metavar="NAME",
                        help=f"which to run (default all: {', '.join(NAMES)})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for name in args.names or NAMES:
        module = importlib.import_module(f"bench.{name}")
        module.run(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
