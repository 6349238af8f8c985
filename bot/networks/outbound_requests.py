"""The requests side of bot/networks/outbound.py (Mastodon.py speaks requests): urllib3 opens every socket in
``HTTPConnection._new_conn``; these subclasses resolve the name once there, check every address and dial the
checked one. SNI and certificate checks still use the name (``self.host``).

Every session of one reach shares one adapter, so its connections: a worker boosting for thousands of supporters
on one instance reuses a connection (no connect, no TLS handshake, no pool built per supporter's client) rather
than opening one per supporter. A connection carries nothing of an account's: each request brings its own
token, and cookies stay with each session. Each connection was checked when it was dialed."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection as urllib3_connection

from bot.networks.outbound import Reach, public_addresses


def _dial(conn: Any, reach: Reach) -> Any:
    try:
        addresses = public_addresses(conn._dns_host, conn.port, reach)
    except httpx.ConnectError as exc:
        raise NewConnectionError(conn, str(exc)) from None
    last: OSError | None = None
    for address in addresses:
        try:
            return urllib3_connection.create_connection(
                (address, conn.port), conn.timeout, source_address=conn.source_address,
                socket_options=conn.socket_options)
        except OSError as exc:
            last = exc
    raise NewConnectionError(conn, f"cannot connect to {conn.host}: {last}")


def _adapter(reach: Reach) -> HTTPAdapter:
    class Conn(HTTPConnection):
        def _new_conn(self) -> Any:
            return _dial(self, reach)

    class TLSConn(HTTPSConnection):
        def _new_conn(self) -> Any:
            return _dial(self, reach)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Conn

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConn

    class PublicOnlyAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

        def proxy_manager_for(self, proxy: Any, **kwargs: Any) -> Any:
            raise requests.exceptions.ProxyError("no proxy for calls to servers supporters name")

    return PublicOnlyAdapter(pool_connections=POOL_HOSTS, pool_maxsize=POOL_PER_HOST)


POOL_HOSTS = 100
"""Servers whose idle connections each reach's adapter keeps (the least recently used pool is closed beyond)."""
POOL_PER_HOST = 64
"""Idle connections kept per server: about a worker's senders (one more is opened when all are in use, and
closed after its request instead of kept)."""
_ADAPTERS: dict[Reach, HTTPAdapter] = {}
_ADAPTERS_LOCK = threading.Lock()


def _shared_adapter(reach: Reach) -> HTTPAdapter:
    with _ADAPTERS_LOCK:
        adapter = _ADAPTERS.get(reach)
        if adapter is None:
            adapter = _ADAPTERS[reach] = _adapter(reach)
        return adapter


def session(reach: Reach) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # no proxy and no .netrc from the environment
    adapter = _shared_adapter(reach)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s
