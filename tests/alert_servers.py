"""Local alert receivers for the tests: a JSON webhook (on tests/httpfake.py) and an SMTP server (aiosmtpd),
on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.httpfake import FakeServer, Request, Response


class Webhook:
    """Collects the JSON bodies posted to it (Apprise's json:// sends title, message and type). On the fake
    server of the adapter tests: a request whose body never arrived in full is dropped, as a real one drops it."""

    def __init__(self) -> None:
        self.server = FakeServer()
        self.received: list[dict[str, Any]] = []

        @self.server.route("POST", "/hook")
        def receive(req: Request) -> Response:
            with self.server.lock:
                self.received.append(req.json())
            return Response(200, {})

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.httpd.server_address[1]}/hook"

    def messages(self) -> list[str]:
        with self.server.lock:
            return [str(m.get("message", "")) for m in self.received]

    def events(self) -> list[str]:
        return [line.removeprefix("Event: ") for m in self.messages() for line in m.splitlines()
                if line.startswith("Event: ")]


@contextmanager
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.server.start()
    try:
        yield hook
    finally:
        hook.server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port_url() -> str:
    """A JSON webhook URL on a port nothing listens on: every send fails at once (connection refused)."""
    return f"json://127.0.0.1:{free_port()}/hook"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@contextmanager
def smtp() -> Iterator[tuple[Mailbox, str]]:
    from aiosmtpd.controller import Controller

    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, f"mailto://127.0.0.1:{port}?from=bot@example.org&to=staff@example.org&mode=insecure"
    finally:
        controller.stop()
