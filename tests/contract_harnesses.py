"""The adapter contract's harnesses for Threads, Telegram and Facebook (tests/test_network_contract.py): each
drives its adapter against its local fake and can make the next post meet each class of failure."""

from __future__ import annotations

import json
import socket
import struct
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.networks.facebook.adapter import FacebookNetwork, FacebookSettings
from bot.networks.telegram.adapter import TelegramNetwork, TelegramSettings
from bot.networks.threads.adapter import ThreadsNetwork, ThreadsSettings
from tests.fake_facebook import PAGE_ID, FakeFacebook
from tests.fake_facebook import V as FACEBOOK_V
from tests.fake_telegram import FakeTelegram
from tests.fake_threads import FakeThreads
from tests.fake_threads import V as THREADS_V
from tests.httpfake import Response

TIMEOUT = 30


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def unreachable_url() -> str:
    """An address where nothing listens: a connection is refused, so the request never left."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def graph_error(message: str, code: int, status: int = 400, **extra: Any) -> Response:
    return Response(status, {"error": {"message": message, "type": "OAuthException", "code": code,
                                       "fbtrace_id": "Ab12Cd34", **extra}})


class ThreadsHarness:
    def __init__(self, server: FakeThreads, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        monkeypatch.setenv("TEST_THREADS_TOKEN", server.token)
        server.route("GET", r"/images/.+")(lambda req: Response(200, png_bytes(), {"Content-Type": "image/png"}))
        self.network = ThreadsNetwork("threads", ThreadsSettings(
            network="threads", access_token_env="TEST_THREADS_TOKEN", api_base_url=f"{server.url}{THREADS_V}",
            image_base_url=f"{server.url}/images", request_timeout=TIMEOUT))

    def posted(self) -> list[dict[str, Any]]:
        return [{"id": m["id"], "text": m["text"], "reply_to": m["reply_to"], "language": None,
                 "alts": [m["alt_text"]] if m["alt_text"] else []} for m in self.server.posts()]

    def inject(self, kind: str) -> None:
        publish, create = rf"{THREADS_V}/(me|\d+)/threads_publish", rf"{THREADS_V}/(me|\d+)/threads"
        if kind == "outcome_unknown":  # published, then the connection dropped
            self.server.fail_next("POST", publish, None, went_through=True)
        elif kind == "auth_revoked":
            self.server.token = "revoked"
        elif kind == "rate_limited":
            self.server.fail_next("POST", publish, graph_error("Application request limit reached", 4,
                                                               is_transient=True))
        elif kind == "transient":
            self.server.fail_next("POST", create, graph_error("An unexpected error has occurred. Please retry your "
                                                              "request later.", 2, 500, is_transient=True))
        else:
            self.server.fail_next("POST", create, graph_error("(#100) Param text must be at most 500 characters "
                                                              "long.", 100))


class TelegramHarness:
    def __init__(self, server: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        monkeypatch.setenv("TEST_TELEGRAM_TOKEN", server.token)
        self.network = self.connect(server.url)

    def connect(self, url: str) -> TelegramNetwork:
        return TelegramNetwork("telegram", TelegramSettings(
            network="telegram", channel=f"@{self.server.channel}", bot_token_env="TEST_TELEGRAM_TOKEN",
            api_base_url=url, request_timeout=TIMEOUT))

    def posted(self) -> list[dict[str, Any]]:
        return [{"id": str(m["message_id"]), "text": m.get("text") or m.get("caption") or "",
                 "reply_to": str(m["reply_to_message"]["message_id"]) if m.get("reply_to_message") else None,
                 "language": None, "alts": [], "photo": bool(m.get("photo"))} for m in self.server.posted()]

    def inject(self, kind: str) -> None:
        send = r"/bot[^/]+/send(Message|Photo)"
        if kind == "outcome_unknown":
            self.server.fail_next("POST", send, None, went_through=True)
        elif kind == "auth_revoked":
            self.server.member = False
        elif kind == "rate_limited":
            self.server.fail_next("POST", send, Response(429, {
                "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 17",
                "parameters": {"retry_after": 17}}))
        elif kind == "transient":
            self.network = self.connect(unreachable_url())
        else:
            self.server.fail_next("POST", send, Response(400, {"ok": False, "error_code": 400,
                                                               "description": "Bad Request: message is too long"}))


class FacebookHarness:
    def __init__(self, server: FakeFacebook, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        monkeypatch.setenv("TEST_FACEBOOK_TOKEN", server.token)
        self.network = self.connect(f"{server.url}{FACEBOOK_V}")

    def connect(self, url: str) -> FacebookNetwork:
        return FacebookNetwork("facebook", FacebookSettings(
            network="facebook", page_id=PAGE_ID, page_token_env="TEST_FACEBOOK_TOKEN", api_base_url=url,
            request_timeout=TIMEOUT))

    def posted(self) -> list[dict[str, Any]]:
        posts = [{"id": p["id"], "text": p["message"], "reply_to": None, "language": None,
                  "alts": [self.server.photos[i]["alt"] for i in p["photos"]]} for p in self.server.posts.values()]
        comments = [{"id": c["id"], "text": c["message"], "reply_to": c["parent"], "language": None, "alts": []}
                    for c in self.server.comments.values()]
        return posts + comments

    def inject(self, kind: str) -> None:
        feed = rf"{FACEBOOK_V}/{PAGE_ID}/feed"
        if kind == "outcome_unknown":
            self.server.fail_next("POST", feed, None, went_through=True)
        elif kind == "auth_revoked":
            self.server.token = "revoked"
        elif kind == "rate_limited":
            usage = json.dumps({PAGE_ID: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 12}]})
            self.server.fail_next("POST", feed, Response(400, {"error": {
                "message": "(#32) Page request limit reached", "type": "OAuthException", "code": 32,
                "fbtrace_id": "Ab12"}}, {"X-Business-Use-Case-Usage": usage}))
        elif kind == "transient":
            self.server.fail_next("POST", feed, graph_error("An unexpected error has occurred. Please retry your "
                                                            "request later.", 2, 500, is_transient=True))
        else:
            self.server.fail_next("POST", feed, graph_error("Duplicate status message", 506, error_subcode=1455006,
                                                            error_user_title="Duplicate Post"))


def now() -> datetime:
    return datetime.now(UTC)
