"""One contract, every adapter: post, reply, post with an image, and each class of error, with the real
client libraries talking HTTP to servers on 127.0.0.1 (mastodon-mock for Mastodon; our fakes for X, Bluesky,
Threads, Telegram and Facebook: tests/contract_harnesses.py)."""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.networks.base import (
    AuthRevoked,
    Media,
    OutcomeUnknown,
    PermanentError,
    Post,
    RateLimited,
    ThreadRef,
    TransientError,
)
from bot.networks.bluesky.adapter import BlueskyNetwork, BlueskySettings
from bot.networks.mastodon.adapter import MastodonNetwork, MastodonSettings
from bot.networks.x.adapter import XNetwork, XSettings
from tests.contract_harnesses import FacebookHarness, TelegramHarness, ThreadsHarness
from tests.fake_facebook import FakeFacebook
from tests.fake_networks import FakeBluesky, FakeX
from tests.fake_telegram import FakeTelegram
from tests.fake_threads import FakeThreads
from tests.httpfake import Response

# No test may depend on the machine's speed: requests get the adapters' own default timeout, and a test about
# a timeout gets a server that holds the answer until the client has given up (GIVE_UP is then only how long
# the test waits for that, not a race).
TIMEOUT = 30
GIVE_UP = 3
ERRORS = {
    "rate_limited": RateLimited,
    "transient": TransientError,
    "permanent": PermanentError,
    "auth_revoked": AuthRevoked,
    "outcome_unknown": OutcomeUnknown,
}


def png(path: Path) -> Path:
    """A real 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))
    return path


class MastodonHarness:
    def __init__(self, server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        monkeypatch.setenv("TEST_MASTODON_TOKEN", "alice_token")
        self.network = self.connect(TIMEOUT)

    def connect(self, timeout: float) -> MastodonNetwork:
        return MastodonNetwork("masto", MastodonSettings(
            network="mastodon", api_base_url=self.server.base_url, access_token_env="TEST_MASTODON_TOKEN",
            request_timeout=timeout))

    def posted(self) -> list[dict[str, Any]]:
        client = self.network.client()
        me = client.account_verify_credentials()
        out = []
        for s in reversed(client.account_statuses(me["id"])):
            out.append({"id": str(s["id"]), "text": s["content"], "reply_to": s["in_reply_to_id"] and
                        str(s["in_reply_to_id"]), "language": s["language"],
                        "alts": [m["description"] for m in s["media_attachments"]]})
        return out

    def inject(self, kind: str) -> None:
        effect = {
            "rate_limited": {"type": "ratelimit"},
            "transient": {"type": "status", "status": 503},
            "permanent": {"type": "status", "status": 422,
                          "body": {"error": "Validation failed: Text character limit of 500 exceeded"}},
            "auth_revoked": {"type": "status", "status": 401, "body": {"error": "The access token was revoked"}},
            # mastodon-mock holds a "timeout" for 30 s before it processes the request: 10 x GIVE_UP.
            "outcome_unknown": {"type": "timeout", "delay_ms": 0},
        }[kind]
        if kind == "outcome_unknown":
            self.network = self.connect(GIVE_UP)
        rule = {"match": {"methods": ["POST"], "path": "/api/v1/statuses"}, "effect": effect, "count": 1}
        httpx.post(f"{self.server.base_url}/api/v1/_mock/faults", json=rule, timeout=TIMEOUT).raise_for_status()


class XHarness:
    def __init__(self, server: FakeX, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        for name in ("CK", "CS", "AT", "ATS"):
            monkeypatch.setenv(f"TEST_X_{name}", f"test-{name.lower()}")
        self.network = XNetwork("x", XSettings(
            network="x", consumer_key_env="TEST_X_CK", consumer_secret_env="TEST_X_CS",
            access_token_env="TEST_X_AT", access_token_secret_env="TEST_X_ATS", request_timeout=TIMEOUT))
        server.mount(self.network)

    def posted(self) -> list[dict[str, Any]]:
        return [{"id": t["id"], "text": t["text"], "reply_to": t["in_reply_to"], "language": None,
                 "alts": [self.server.media[m]["alt"] for m in t["media_ids"]]} for t in self.server.tweets]

    def inject(self, kind: str) -> None:
        reset = str(int(datetime.now(UTC).timestamp()) + 900)
        if kind == "outcome_unknown":  # X created the post, then the connection dropped: no timer involved
            self.server.fail_next("POST", "/2/tweets", None, went_through=True)
            return
        response = {
            "rate_limited": Response(429, {"title": "Too Many Requests", "detail": "Too Many Requests",
                                           "status": 429}, {"x-rate-limit-limit": "100",
                                                            "x-rate-limit-remaining": "0",
                                                            "x-rate-limit-reset": reset}),
            "transient": Response(503, {"title": "Service Unavailable", "detail": "Over capacity"}),
            "permanent": Response(400, {"errors": [{"message": "Invalid Request: text is too long"}],
                                        "title": "Invalid Request"}),
            "auth_revoked": Response(401, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401}),
        }[kind]
        self.server.fail_next("POST", "/2/tweets", response)


class BlueskyHarness:
    def __init__(self, server: FakeBluesky, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        monkeypatch.setenv("TEST_BSKY_PASSWORD", server.password)
        self.network = self.connect(TIMEOUT)

    def connect(self, timeout: float) -> BlueskyNetwork:
        return BlueskyNetwork("bsky", BlueskySettings(
            network="bluesky", handle=self.server.handle, app_password_env="TEST_BSKY_PASSWORD",
            service_url=self.server.url, request_timeout=timeout))

    def posted(self) -> list[dict[str, Any]]:
        out = []
        for r in self.server.records.values():
            v = r["value"]
            out.append({"id": r["uri"], "text": v["text"], "reply_to": (v.get("reply") or {}).get("parent", {})
                        .get("uri"), "language": (v.get("langs") or [None])[0],
                        "alts": [i["alt"] for i in (v.get("embed") or {}).get("images", [])]})
        return out

    def inject(self, kind: str) -> None:
        path = "/xrpc/com.atproto.repo.createRecord"
        if kind == "outcome_unknown":  # the record is created, the answer held until the fake stops
            self.network = self.connect(GIVE_UP)
            self.server.fail_next("POST", path, None, went_through=True, hold=threading.Event())
            return
        if kind == "auth_revoked":
            self.server.password = "changed"  # the re-login the adapter tries must fail too
            self.server.revoke_access_tokens()
            return
        response = {
            "rate_limited": Response(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                                     {"ratelimit-limit": "5000", "ratelimit-remaining": "0",
                                      "ratelimit-reset": str(int(datetime.now(UTC).timestamp()) + 3600)}),
            "transient": Response(500, {"error": "InternalServerError", "message": "Internal Server Error"}),
            "permanent": Response(400, {"error": "InvalidRequest",
                                        "message": "Record/text must not be longer than 3000 graphemes"}),
        }[kind]
        self.server.fail_next("POST", path, response)


@pytest.fixture(scope="module")
def mastodon_server() -> Iterator[Any]:
    from mastodon_mock.testing.server import MockServer

    with MockServer() as server:
        yield server


FAKES: dict[str, tuple[Any, Any]] = {"threads": (FakeThreads, ThreadsHarness),
                                     "telegram": (FakeTelegram, TelegramHarness),
                                     "facebook": (FakeFacebook, FacebookHarness)}


@pytest.fixture(params=["mastodon", "x", "bluesky", "threads", "telegram", "facebook"])
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if request.param == "mastodon":
        server = request.getfixturevalue("mastodon_server")
        httpx.post(f"{server.base_url}/api/v1/_mock/reset", timeout=TIMEOUT).raise_for_status()
        httpx.delete(f"{server.base_url}/api/v1/_mock/faults", timeout=TIMEOUT)
        yield MastodonHarness(server, monkeypatch)
        return
    if request.param in FAKES:
        fake_class, harness_class = FAKES[request.param]
        fake = fake_class().start()
        try:
            yield harness_class(fake, monkeypatch)
        finally:
            fake.stop()
        return
    if request.param == "x":
        fake_x = FakeX().start()
        try:
            yield XHarness(fake_x, monkeypatch)
        finally:
            fake_x.stop()
        return
    fake_bsky = FakeBluesky().start()
    try:
        yield BlueskyHarness(fake_bsky, monkeypatch)
    finally:
        fake_bsky.stop()


def post(n: int, text: str, **kw: Any) -> Post:
    return Post(delivery_id=n, idempotency_key=f"campaign-bot-{n}", text=text, language=kw.pop("language", "es"),
                scheduled_at=datetime(2026, 11, 30, 14, tzinfo=UTC), **kw)


def test_a_post_goes_out_with_its_language_and_comes_back_with_an_id_and_url(harness):
    text = "Pide a @CancilleriaPeru: otorgue el estatus a la niñez refugiada #NiñezRefugiada https://example.org/ua"
    published = harness.network.publish(post(1, text))
    assert published.remote_id and published.url and published.url.startswith("http")
    [seen] = harness.posted()
    assert seen["id"] == published.remote_id
    assert "otorgue el estatus" in seen["text"]
    if seen["language"] is not None:  # X sets the language itself
        assert seen["language"] == "es"


def test_a_reply_is_threaded_under_its_parent(harness):
    parent = harness.network.publish(post(1, "First call to action"))
    ref = ThreadRef(remote_id=parent.remote_id, ref=parent.ref, root_id=parent.remote_id, root_ref=parent.ref)
    reply = harness.network.publish(post(2, "No further action is requested. Many thanks to all who sent appeals.",
                                         language="en", in_reply_to=ref))
    posted = {p["id"]: p for p in harness.posted()}
    assert posted[reply.remote_id]["reply_to"] == parent.remote_id


def test_an_image_carries_its_alt_text(harness, tmp_path):
    image = Media(png(tmp_path / "poster.png"), "Children holding a banner that reads 'refugio'")
    published = harness.network.publish(post(1, "Look", media=(image,)))
    posted = {p["id"]: p for p in harness.posted()}
    if not harness.network.carries_alt_text:  # Telegram's Bot API has no field for it: the photo goes alone
        assert posted[published.remote_id]["photo"] and posted[published.remote_id]["alts"] == []
        return
    assert posted[published.remote_id]["alts"] == ["Children holding a banner that reads 'refugio'"]


@pytest.mark.parametrize("kind", list(ERRORS))
def test_each_failure_is_classified(harness, kind):
    harness.inject(kind)
    with pytest.raises(ERRORS[kind]) as caught:
        harness.network.publish(post(7, f"A post meeting a {kind} failure"))
    assert "token" not in str(caught.value).lower() or kind == "auth_revoked"
    if kind == "rate_limited":
        assert caught.value.until is not None and caught.value.until > datetime.now(UTC)


def test_a_retry_after_an_unknown_outcome_never_makes_a_second_post(harness):
    """Mastodon: Idempotency-Key; Bluesky: the rkey collides and is read back; X: never retried blindly."""
    harness.inject("outcome_unknown")
    with pytest.raises(OutcomeUnknown):
        harness.network.publish(post(9, "Only once, please"))
    if not harness.network.idempotent:
        assert len([p for p in harness.posted() if p["text"] == "Only once, please"]) <= 1
        return
    deadline = time.monotonic() + TIMEOUT
    while True:  # the slow first attempt may still be completing on the server
        try:
            again = harness.network.publish(post(9, "Only once, please"))
            break
        except TransientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    matching = [p for p in harness.posted() if "Only once, please" in p["text"]]
    assert len(matching) == 1 and matching[0]["id"] == again.remote_id
