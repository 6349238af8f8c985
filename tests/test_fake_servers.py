"""The fakes' own fidelity where a difference from the real services would hide a defect of ours."""

from __future__ import annotations

import socket
import time

import httpx

from tests.fake_networks import FakeMastodon


def _cut_off_request(url: str, key: str, body: bytes) -> None:
    """Headers and the start of the body, then the connection closes: a worker killed mid-send."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/statuses HTTP/1.1\r\nHost: fake\r\nAuthorization: Bearer t\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     + f"Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                     + body[:7])


def test_a_request_whose_body_never_arrives_in_full_is_not_handled_as_a_real_server_does():
    """A fake that handled the truncated request created an empty status under the delivery's key, and the
    resend then got that status back: a post recorded as sent whose text never went out (a CI failure of
    tests/test_faults.py's kill -9 test). nginx and Puma read the whole body before Mastodon sees it."""
    server = FakeMastodon().start()
    try:
        body = b"status=Delivery+7&language=en"
        _cut_off_request(server.url, "campaign-bot-k-7", body)
        deadline = time.monotonic() + 10  # until the server has seen the connection close
        while time.monotonic() < deadline and not getattr(server, "incomplete", 0) and not server.statuses:
            time.sleep(0.02)
        assert server.statuses == [] and server.incomplete == 1

        resent = httpx.post(f"{server.url}/api/v1/statuses", content=body, timeout=10,
                            headers={"Authorization": "Bearer t", "Idempotency-Key": "campaign-bot-k-7",
                                     "Content-Type": "application/x-www-form-urlencoded"})
        assert resent.json()["content"] == "Delivery 7"
        assert [s["content"] for s in server.statuses] == ["Delivery 7"]
    finally:
        server.stop()
