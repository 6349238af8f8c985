"""An outsider tries to make our server call inside its own network (server-side request forgery): through the
OAuth metadata an instance serves, a redirect, a Host header, a URL with a user part, a name that resolves
to a public address once and to 127.0.0.1 the next time, and a supporter's stored server. Every connection is
checked where it is made (bot/networks/outbound.py); loopback is allowed only by the explicit setting."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest
import requests
from cryptography.fernet import Fernet

from bot.networks.mastodon.oauth import OAuthError, server_info
from bot.networks.outbound import NotPublic, PublicOnlyTransport, Reach, is_public, public_addresses
from bot.networks.outbound_requests import session as public_session
from tests.httpfake import FakeServer
from tests.httpfake import Request as FakeRequest
from tests.httpfake import Response as FakeResponse
from tests.web_fixtures import Web, load, web  # noqa: F401 - the fixture

__all__ = ["web"]
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Listener:
    """A port on 127.0.0.1 that only counts who connects (the place an attacker wants us to reach)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def connections(self) -> int:
        count = 0
        while select.select([self.sock], [], [], 0.05)[0]:
            conn, _ = self.sock.accept()
            conn.close()
            count += 1
        return count

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def inside() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture
def no_local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default: nobody said servers on this machine are fine (asked for before the app is built)."""
    monkeypatch.delenv("CAMPAIGN_BOT_LOCAL_SERVERS", raising=False)


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", Fernet.generate_key().decode())


def instance_naming(authorize: str, token: str) -> FakeServer:
    """A Mastodon instance whose OAuth metadata names endpoints of the attacker's choice."""
    server = FakeServer()

    @server.route("GET", "/.well-known/oauth-authorization-server")
    def meta(req: FakeRequest) -> FakeResponse:
        return FakeResponse(200, {"authorization_endpoint": authorize.format(base=server.url),
                                  "token_endpoint": token.format(base=server.url),
                                  "code_challenge_methods_supported": ["S256"]})

    @server.route("POST", "/api/v1/apps")
    def apps(req: FakeRequest) -> FakeResponse:
        return FakeResponse(200, {"client_id": "cid", "client_secret": "the-client-secret"})

    @server.route("GET", "/api/v1/instance")  # what campaign-bot asks first: a Mastodon server, it says
    def about(req: FakeRequest) -> FakeResponse:
        return FakeResponse(200, {"uri": server.url.removeprefix("http://"), "version": "4.3.0"})

    return server.start()


@pytest.mark.parametrize("where", ["http://127.0.0.1:{port}/oauth/token", "http://169.254.169.254/latest/meta-data",
                                   "https://elsewhere.example/oauth/token"])
def test_an_instance_cannot_send_our_client_secret_to_an_endpoint_off_the_instance(inside: Listener,
                                                                                     where: str) -> None:
    instance = instance_naming("{base}/oauth/authorize", where.format(port=inside.port))
    try:
        with pytest.raises(OAuthError) as refused:
            server_info(instance.url, Reach.LOCAL)  # even with loopback allowed: the endpoint is off the instance
        assert "another server" in str(refused.value)
    finally:
        instance.stop()
    assert inside.connections() == 0


@SQLITE
def test_a_visitor_is_never_sent_to_an_authorization_endpoint_the_instance_names_elsewhere(web: Web, key: None) -> None:
    instance = instance_naming("https://phishing.example/oauth/authorize", "{base}/oauth/token")
    try:
        start = web.client().post("/c/test/connect/mastodon", data={"instance": instance.url})
    finally:
        instance.stop()
    assert start.status_code == 400 and "location" not in start.headers
    assert "another server" in start.text


@SQLITE
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "localhost:8000"])
def test_a_host_header_does_not_open_loopback_to_the_connect_flow(no_local_servers: None, web: Web, key: None,
                                                                  inside: Listener, host: str) -> None:
    client = web.client()
    typed = f"http://127.0.0.1:{inside.port}"
    mastodon = client.post("/c/test/connect/mastodon", data={"instance": typed}, headers={"Host": host})
    bluesky = client.post("/c/test/connect/bluesky", headers={"Host": host}, data={
        "handle": "alice.bsky.social", "app_password": "abcd-efgh-ijkl-mnop", "server": typed})
    assert mastodon.status_code == bluesky.status_code == 400
    assert inside.connections() == 0  # nothing registered there, no app password sent there


@SQLITE
@pytest.mark.parametrize("typed", ["http://localhost:1@127.0.0.1:{port}", "http://127.0.0.1:{port}@example.org",
                                   "localhost:{port}", "[::1]:{port}", "0x7f.0.0.1:{port}", "169.254.169.254"])
def test_a_server_address_with_tricks_in_it_is_refused_before_any_request(web: Web, key: None, inside: Listener,
                                                                          typed: str) -> None:
    answer = web.client().post("/c/test/connect/mastodon", data={"instance": typed.format(port=inside.port)})
    assert answer.status_code == 400
    assert inside.connections() == 0


@SQLITE
def test_connecting_needs_the_configured_public_address_not_the_one_the_request_names(
        make_app: Any, campaigns_dir: Any, key: None, inside: Listener) -> None:
    from fastapi.testclient import TestClient

    from bot.web.app import create_app
    from tests.conftest import write_campaign

    write_campaign(campaigns_dir)
    core = make_app()  # no [amplify] public_url
    load(core)
    client = TestClient(create_app(core, secret_key="x" * 40), base_url="http://127.0.0.1", follow_redirects=False)
    answer = client.post("/c/test/connect/mastodon", data={"instance": f"http://127.0.0.1:{inside.port}"},
                         headers={"Host": "attacker.example", "Accept-Language": "en"})
    assert answer.status_code == 400 and "not set up" in answer.text
    assert inside.connections() == 0


def test_a_name_that_resolves_to_loopback_the_second_time_is_refused_when_connecting(
        monkeypatch: pytest.MonkeyPatch, inside: Listener) -> None:
    """DNS rebinding: the typed name passes the early check, then points inside when the socket opens."""
    answers = iter(["93.184.215.14", "127.0.0.1", "127.0.0.1"])

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert public_addresses("rebind.example", inside.port) == ["93.184.215.14"]
    with pytest.raises(OAuthError):
        server_info(f"https://rebind.example:{inside.port}")
    assert inside.connections() == 0


class Recording(httpcore.MockBackend):
    def __init__(self, buffer: list[bytes]) -> None:
        super().__init__(buffer)
        self.dialled: list[tuple[str, int]] = []

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        self.dialled.append((host, port))
        return super().connect_tcp(host, port, timeout, local_address, socket_options)


def test_a_redirect_to_the_cloud_metadata_address_is_refused_and_never_dialled() -> None:
    inner = Recording([b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\n"
                       b"Content-Length: 0\r\n\r\n"])
    client = httpx.Client(transport=PublicOnlyTransport(backend=inner), follow_redirects=True, trust_env=False)
    with pytest.raises(NotPublic):
        client.get("http://8.8.8.8/start")  # a mock backend: nothing leaves the machine
    assert inner.dialled == [("8.8.8.8", 80)]


def test_mastodon_py_and_atproto_refuse_a_supporters_server_on_loopback(inside: Listener) -> None:
    from atproto_client.exceptions import NetworkError

    from bot.networks.bluesky.adapter import _request

    with pytest.raises(requests.ConnectionError):
        public_session(Reach.PUBLIC).get(f"http://127.0.0.1:{inside.port}/api/v2/instance", timeout=5)
    with pytest.raises(NetworkError):
        _request(5, "public").get(f"http://127.0.0.1:{inside.port}/xrpc/com.atproto.server.describeServer")
    assert inside.connections() == 0


@SQLITE
def test_the_worker_does_not_call_a_supporters_stored_server_that_leads_inside(
        no_local_servers: None, make_app: Any, inside: Listener, key: None) -> None:
    from bot.networks.base import NetworkError
    from bot.supporters import service
    from bot.supporters.crypto import require_cipher

    app = make_app()
    with app.sessions.begin() as s:  # stored when it pointed elsewhere, or written into the database
        done = service.connect(s, require_cipher(), app.clock.now(), network="mastodon", name="mallory",
                               credentials={"access_token": "t"}, instance="evil.example",
                               api_base_url=f"http://127.0.0.1:{inside.port}", handle="mallory@evil.example",
                               campaigns=None, actor="test")
    network = app.network(service.account_id_of(done.supporter.id))
    with pytest.raises(NetworkError):
        network.check()
    assert inside.connections() == 0


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.1.2.3", "100.64.0.1", "0.0.0.0",
                                     "224.0.0.1", "::1", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::",
                                     "fe80::1", "fd00:ec2::254", "::127.0.0.1", "192.88.99.1"])
def test_no_private_or_special_address_counts_as_public(address: str) -> None:
    import ipaddress

    assert not is_public(ipaddress.ip_address(address))
    assert is_public(ipaddress.ip_address("8.8.8.8")) and is_public(ipaddress.ip_address("64:ff9b::808:808"))


@SQLITE
def test_sixty_connect_attempts_from_one_address_make_ten_rounds_of_requests_at_most(web: Web, key: None) -> None:
    from fastapi.testclient import TestClient

    from bot.actions.supporters import CONNECT_TRIES

    instance = instance_naming("{base}/oauth/authorize", "{base}/oauth/token")
    try:
        client = web.client()
        answers = [client.post("/c/test/connect/mastodon", data={"instance": instance.url}).status_code
                   for _ in range(60)]
        metadata = [r for r in instance.requests if r.path == "/.well-known/oauth-authorization-server"]
        elsewhere = TestClient(web.app, base_url="http://127.0.0.1", follow_redirects=False,
                               client=("198.51.100.4", 1))  # the limit is per address: others are not held up
        assert elsewhere.post("/c/test/connect/mastodon", data={"instance": instance.url}).status_code == 303
    finally:
        instance.stop()
    assert answers.count(303) == CONNECT_TRIES[0] and answers.count(429) == 60 - CONNECT_TRIES[0]
    assert len(metadata) == CONNECT_TRIES[0]


@SQLITE
@pytest.mark.parametrize("username", ["<img src=x onerror=alert(1)>", "bob\x1b[2J", "bob@elsewhere.example", ""])
def test_a_supporters_server_cannot_make_us_store_or_show_a_handle_that_is_not_one(web: Web, key: None,
                                                                                 username: str) -> None:
    from bot.actions import supporters
    from bot.actions.errors import ActionError
    from bot.networks.mastodon.oauth import verify
    from bot.supporters import service
    from bot.web.connect import SUPPORTER

    server = FakeServer()

    @server.route("GET", "/api/v1/accounts/verify_credentials")
    def me(req: FakeRequest) -> FakeResponse:
        return FakeResponse(200, {"username": username, "acct": username})

    server.start()
    try:
        with pytest.raises(OAuthError):
            verify(server.url, "token", Reach.LOCAL)
    finally:
        server.stop()
    with pytest.raises(ActionError):  # and whatever a surface passes on, the action checks it again
        supporters.connect(web.core, SUPPORTER, network="mastodon", name="x", credentials={"access_token": "t"},
                           instance="evil.example", api_base_url="https://evil.example",
                           handle=f"{username}@evil.example", campaigns=None)
    with web.core.sessions() as s:
        assert service.list_supporters(s) == []
