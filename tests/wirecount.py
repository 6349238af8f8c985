"""Counting database round trips: on PostgreSQL at the wire (every Query and every Sync a client sends is
one wait for the server, BEGIN and COMMIT that psycopg sends on its own included); on SQLite every statement
the sqlite3 module runs (its implicit BEGIN and COMMIT included)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

from tests.tcpproxy import TcpProxy

SSL_REQUEST, GSS_REQUEST = 80877103, 80877104


class _ClientStream:
    """Parses what one client sends to the server and counts the messages that end a round trip."""

    def __init__(self) -> None:
        self.buffer = b""
        self.started = False

    def feed(self, data: bytes) -> int:
        self.buffer += data
        trips = 0
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return trips
                length, code = struct.unpack("!ii", self.buffer[:8])
                if len(self.buffer) < length:
                    return trips
                self.buffer = self.buffer[length:]
                self.started = code not in (SSL_REQUEST, GSS_REQUEST)
                continue
            if len(self.buffer) < 5:
                return trips
            kind, length = self.buffer[:1], struct.unpack("!i", self.buffer[1:5])[0]
            if len(self.buffer) < 1 + length:
                return trips
            self.buffer = self.buffer[1 + length:]
            trips += kind in (b"Q", b"S")


class CountingProxy(TcpProxy):
    """A TcpProxy that counts the round trips of every client going through it."""

    def __init__(self, host: str, port: int) -> None:
        self.trips = 0
        self._count_lock = threading.Lock()
        super().__init__(host, port)

    def _pipe(self, src: socket.socket, dst: socket.socket, seen: Callable[[bytes], None] | None = None) -> None:
        try:
            from_client = src.getsockname()[1] == self.port
        except OSError:
            return
        if not from_client:
            super()._pipe(src, dst)
            return
        stream = _ClientStream()

        def count(data: bytes) -> None:
            if seen is not None:
                seen(data)
            trips = stream.feed(data)
            if trips:
                with self._count_lock:
                    self.trips += trips

        super()._pipe(src, dst, count)


class SqliteCounter:
    """Every statement the sqlite3 module runs on connections the engine opens from now on."""

    def __init__(self, engine: Engine) -> None:
        self.trips = 0
        self.statements: list[str] = []
        event.listen(engine, "connect", self._connected)
        engine.dispose()  # connections opened before counting started are not reused

    def _connected(self, dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_trace_callback(self._trace)

    def _trace(self, statement: str) -> None:
        self.trips += 1
        self.statements.append(statement)
