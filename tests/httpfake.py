"""A small threaded HTTP server on 127.0.0.1 for adapter tests: routes to Python functions, and can be told
to fail the next matching requests (a status with headers, a dropped connection, a slow answer)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8", "replace"))

    def fields(self) -> dict[str, Any]:
        """The body's fields, urlencoded or multipart/form-data (a file part as bytes), and the query's."""
        out: dict[str, Any] = {k: v[0] for k, v in self.query.items()}
        content_type = self.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            out.update({k: v[0] for k, v in self.form().items()})
            return out
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + self.body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            out[str(name)] = data if part.get_filename() else data.decode("utf-8")
        return out


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    response: Response | None  # None: drop the connection without answering
    delay: float = 0.0
    remaining: int = 1
    after: Callable[[Request], Any] | None = None  # run the real handler first (the request "went through")
    hold: threading.Event | None = None  # answer only once this is set: the client has given up by then


Handler = Callable[[Request], Response]
HOLD_LIMIT = 300.0  # seconds: a held answer nobody released still ends (every wait has a deadline)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients killed mid-request are expected here
            super().handle_error(request, client_address)


class FakeServer:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.holds: list[threading.Event] = []
        self.incomplete = 0
        """Requests whose body never arrived in full: dropped unhandled, as a real server drops them."""
        self.lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.routes.append((method, re.compile(f"^{pattern}$"), fn))
            return fn

        return register

    def fail_next(self, method: str, pattern: str, response: Response | None, *, count: int = 1,
                  delay: float = 0.0, went_through: bool = False, hold: threading.Event | None = None) -> None:
        """Make the next ``count`` matching requests fail. ``went_through``: the request is processed, then the
        answer is replaced (or dropped) - the outcome-unknown case. ``hold``: no answer until the event is set
        (a timeout that no machine's speed can win: set it once the client gave up; stop() sets it too)."""
        with self.lock:
            self.faults.append(Fault(method, re.compile(f"^{pattern}$"), response, delay, count,
                                     after=self._dispatch if went_through else None, hold=hold))
            if hold is not None:
                self.holds.append(hold)

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        for hold in self.holds:
            hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _dispatch(self, req: Request) -> Response:
        for method, pattern, fn in self.routes:
            if method == req.method and pattern.match(req.path):
                return fn(req)
        return Response(404, {"error": f"no route for {req.method} {req.path}"})

    def _take_fault(self, req: Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == req.method and fault.path.match(req.path) and fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes: without this, Nagle's algorithm and the
                # client's delayed ACK add 40 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    # The client went away mid-body (killed between the headers and the body): a real server
                    # (nginx buffers the whole body, Puma reads it before Rails sees it) never handles this.
                    with server.lock:
                        server.incomplete += 1
                    self.close_connection = True
                    return
                parts = urlsplit(self.path)
                req = Request(self.command, parts.path, parse_qs(parts.query),
                              {k.lower(): v for k, v in self.headers.items()}, body)
                with server.lock:
                    server.requests.append(req)
                fault = server._take_fault(req)
                if fault is not None:
                    if fault.after is not None:
                        fault.after(req)
                    if fault.delay:
                        time.sleep(fault.delay)
                    if fault.hold is not None:
                        fault.hold.wait(HOLD_LIMIT)
                    if fault.response is None:
                        self.close_connection = True
                        self.connection.close()
                        return
                    resp = fault.response
                else:
                    resp = server._dispatch(req)
                payload = resp.body if isinstance(resp.body, bytes) else json.dumps(resp.body).encode()
                self.send_response(resp.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **resp.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

        return H
