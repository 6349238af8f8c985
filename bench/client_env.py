"""python -m bench.client_env: how much of the client's own cost is requests reading the environment on every request.

The bare Mastodon.py burst loop (2,000 posts, 20 threads, a 20 ms server), plain and with the proxy settings read
once as our adapter does (bot/networks/mastodon/transport.py environment_once), A B A B, in an environment as large
as the steady benchmark's (one token variable per account, 100 accounts): the like-for-like reference for the
CPU ratios of dispatch, burst and steady (bench/RESULTS.md)."""

from __future__ import annotations

import json
import os

from mastodon import Mastodon

from bench import fleet
from bench.common import ServerProcess


def main() -> None:
    for i in range(100):  # the benchmarks' environment (one token variable per account)
        os.environ.setdefault(f"BENCH_TOKEN_M{i}", f"bench-token-m{i}")
    server = ServerProcess(latency=0.02)
    made = fleet.clients

    def plain(server: str, count: int, like_ours: bool = False) -> list[Mastodon]:
        return made(server, count, like_ours=False)

    def tuned(server: str, count: int, like_ours: bool = False) -> list[Mastodon]:
        return made(server, count, like_ours=True)

    out: dict[str, list[float]] = {"plain": [], "tuned": []}
    try:
        for _ in range(2):
            for name, maker in (("plain", plain), ("tuned", tuned)):
                fleet.clients = maker
                cpu, _wall, _late = fleet.bare_burst(server.url, 2000, 20)
                out[name].append(round(cpu / 2000 * 1000, 3))
    finally:
        fleet.clients = made
        server.close()
    print(json.dumps({"bare_cpu_ms_per_post": out, "environment_size": len(os.environ)}))


if __name__ == "__main__":
    main()
