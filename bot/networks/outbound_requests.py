"""The requests side of bot/networks/outbound.py (Mastodon.py speaks requests): urllib3 opens every socket in
``HTTPConnection._new_conn``; these subclasses resolve the name once there, check every address and dial the
checked one. SNI and certificate checks still use the name (``self.host``)."""

from __future__ import annotations

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

    return PublicOnlyAdapter()


def session(reach: Reach) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # no proxy and no .netrc from the environment
    adapter = _adapter(reach)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s
