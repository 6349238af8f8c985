"""A supporter's Mastodon server that cannot be used is named for what is wrong: no such name, our server cannot
reach it (its name cannot be looked up now, nothing answers, no answer in time, or a private address our
outgoing policy refuses), it answers but is not Mastodon, or it refused. Servers on 127.0.0.1 stand in for
theirs (CAMPAIGN_BOT_LOCAL_SERVERS=1, tests/conftest.py); the name lookups are the resolver's answers."""

from __future__ import annotations

import html
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.web import connect
from tests.httpfake import FakeServer, Response
from tests.web_fixtures import Web, web  # noqa: F401 - the fixture

__all__ = ["web"]
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", Fernet.generate_key().decode())


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer().start()
    yield fake
    fake.stop()


def refusal(web: Web, instance: str) -> str:
    answer = web.client().post("/c/test/connect/mastodon", data={"instance": instance},
                               headers={"Accept-Language": "en"})
    assert answer.status_code == 400, answer.text[:300]
    start = answer.text.index("<h1>")
    return html.unescape(answer.text[start:answer.text.index("</article>", start)])


def resolver(monkeypatch: pytest.MonkeyPatch, answer: Any) -> None:
    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if isinstance(answer, BaseException):
            raise answer
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_that_does_not_exist_is_a_spelling_mistake(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    resolver(monkeypatch, socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert "There is no server called mastodon.exampel: check the spelling" in refusal(web, "mastodon.exampel")


def test_a_lookup_our_server_cannot_make_says_our_server_cannot_reach_it(
        web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    resolver(monkeypatch, socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"))
    said = refusal(web, "mastodon.social")
    assert "Our server cannot reach mastodon.social just now (it cannot look its name up)" in said
    assert "spelling" not in said


def test_a_private_address_refused_by_our_outgoing_policy_says_our_server_cannot_reach_it(
        web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    resolver(monkeypatch, "10.0.0.5")
    assert "Our server cannot reach intranet.example: its name leads to a private address" in refusal(
        web, "intranet.example")


def test_a_server_where_nothing_answers_is_not_reachable_from_our_server(web: Web) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert f"Our server cannot reach 127.0.0.1:{port} (no answer)" in refusal(web, f"http://127.0.0.1:{port}")


def test_a_server_that_does_not_answer_in_time_is_not_reachable_from_our_server(
        web: Web, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connect, "PROBE_TIMEOUT", 0.2)
    held = threading.Event()
    server.fail_next("GET", "/api/v1/instance", Response(200, {"uri": "x", "version": "4.3.0"}), hold=held)
    try:
        said = refusal(web, server.url)
    finally:
        held.set()
    assert f"Our server cannot reach {server.url.removeprefix('http://')} (no answer)" in said


@pytest.mark.parametrize("answer", [Response(404, b"<h1>Not Found</h1>", {"Content-Type": "text/html"}),
                                    Response(200, b"<html><body>My blog</body></html>", {"Content-Type": "text/html"}),
                                    Response(200, {"name": "a JSON API, but not Mastodon's"})],
                         ids=["no instance endpoint", "a web page", "other JSON"])
def test_a_server_that_answers_but_is_not_mastodon_says_so(web: Web, server: FakeServer, answer: Response) -> None:
    server.route("GET", "/api/v1/instance")(lambda _request: answer)
    said = refusal(web, server.url)
    assert f"{server.url.removeprefix('http://')} answers, but it is not a Mastodon server" in said


@pytest.mark.parametrize("status", [403, 429, 503])
def test_a_server_that_refuses_says_it_refused_and_how(web: Web, server: FakeServer, status: int) -> None:
    server.route("GET", "/api/v1/instance")(lambda _request: Response(status, {"error": "no"}))
    said = refusal(web, server.url)
    assert f"{server.url.removeprefix('http://')} refused our server's request (it answered {status})" in said


def test_a_mastodon_server_passes_the_check_and_the_flow_goes_on(web: Web, mastodon_server: Any) -> None:
    answer = web.client().post("/c/test/connect/mastodon", data={"instance": mastodon_server.base_url})
    assert answer.status_code == 303 and "/oauth/authorize?" in answer.headers["location"]
