"""Supporters connect from the public page: Mastodon's OAuth code flow (with PKCE) against a running
mastodon-mock, Bluesky's handle and app password; then the private manage link."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.actions.base import recording
from bot.networks.mastodon.oauth import pkce_pair, server_info
from bot.networks.outbound import Reach
from bot.store.supporters import MastodonAppRow, SupporterRow
from bot.supporters import service
from bot.supporters.crypto import require_cipher
from tests.web_fixtures import Web, load, web  # noqa: F401 - the fixture

__all__ = ["web"]
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)



@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    value = Fernet.generate_key().decode()
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", value)
    return value


def database_bytes(web: Web) -> bytes:
    """The SQLite database as it is on disk, its write-ahead log included."""
    path = Path(web.core.engine.url.database or "")
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def authorise_on_the_instance(authorize_url: str, username: str) -> str:
    """What the supporter does on their server: the mock's account picker, then its redirect back to us."""
    page = httpx.get(authorize_url, timeout=30)
    assert page.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    answer = httpx.post(str(httpx.URL(authorize_url).copy_with(query=None)), data={**fields, "username": username},
                        timeout=30)
    assert answer.status_code == 302
    return answer.headers["location"]


def connect_mastodon(client: TestClient, base_url: str, username: str = "bob") -> tuple[str, dict[str, list[str]]]:
    start = client.post("/c/test/connect/mastodon", data={"instance": base_url})
    assert start.status_code == 303, start.text
    query = parse_qs(urlsplit(start.headers["location"]).query)
    back = authorise_on_the_instance(start.headers["location"], username)
    assert back.startswith("http://127.0.0.1/connect/mastodon/callback?")
    done = client.get(back.removeprefix("http://127.0.0.1"))
    assert done.status_code == 303, done.text
    return done.headers["location"], query


@SQLITE
def test_a_supporter_connects_mastodon_through_oauth_with_pkce_and_the_token_is_stored_encrypted(
        web: Web, mastodon_server: Any, key: str) -> None:
    client = web.client()
    manage, query = connect_mastodon(client, mastodon_server.base_url)
    assert query["scope"] == ["read:accounts read:search write:statuses"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == ["http://127.0.0.1/connect/mastodon/callback"]
    assert manage.startswith("/m/") and manage.endswith("?welcome=1")
    token = manage.removeprefix("/m/").split("?")[0]
    page = client.get(manage)
    assert page.status_code == 200 and "bob@127.0.0.1:" in page.text and f"http://127.0.0.1/m/{token}" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    cipher = require_cipher()
    with web.core.sessions() as session:
        row = session.scalars(select(SupporterRow)).one()
        supporter = service.by_id(session, row.id)
        assert supporter is not None and supporter.campaigns == ("test",) and not supporter.all_campaigns
        access_token = service.credentials(session, cipher, row.id)["access_token"]
        assert row.manage_token_hash == hashlib.sha256(token.encode()).hexdigest()
    me = httpx.get(f"{mastodon_server.base_url}/api/v1/accounts/verify_credentials",
                   headers={"Authorization": f"Bearer {access_token}"}, timeout=30)
    assert me.json()["username"] == "bob"  # the token works on the supporter's server
    database = database_bytes(web)
    assert b"bob@127.0.0.1" in database  # the grep does see what was stored
    assert access_token.encode() not in database and token.encode() not in database
    assert access_token not in page.text


@SQLITE
def test_the_app_is_registered_once_per_instance(web: Web, mastodon_server: Any, key: str) -> None:
    connect_mastodon(web.client(), mastodon_server.base_url, "bob")
    connect_mastodon(web.client(), mastodon_server.base_url, "carol")
    with web.core.sessions() as session:
        apps = list(session.scalars(select(MastodonAppRow)))
        assert [a.instance for a in apps] == [mastodon_server.base_url.removeprefix("http://")]
        assert len(service.connected_supporters(session)) == 2


@SQLITE
def test_the_manage_link_changes_the_campaigns_and_disconnects_for_good(web: Web, mastodon_server: Any,
                                                                         key: str) -> None:
    client = web.client()
    with recording() as seen:  # each step is the supporter's action (bot/actions/supporters.py)
        manage, _query = connect_mastodon(client, mastodon_server.base_url)
    assert seen == ["supporters.connect"]
    path = manage.split("?")[0]
    with recording() as seen:
        assert client.post(path, data={"scope": "all"}).status_code == 200
    assert seen == ["supporters.choose_campaigns"]
    with web.core.sessions() as session:
        assert service.connected_supporters(session)[0].all_campaigns
    client.post(path, data={"scope": "chosen", "campaign": ["test", "not-a-campaign"]})
    with web.core.sessions() as session:
        assert service.connected_supporters(session)[0].campaigns == ("test",)
    with recording() as seen:
        answer = client.post(f"{path}/disconnect")
    assert answer.status_code == 200 and "Disconnected" in answer.text and seen == ["supporters.disconnect"]
    with web.core.sessions() as session:
        assert service.connected_supporters(session) == []
        row = session.scalars(select(SupporterRow)).one()
        assert row.credentials is None and row.handle is None and row.manage_token_hash is None
    assert client.get(path).status_code == 404


@SQLITE
def test_a_callback_with_a_wrong_state_or_a_refusal_stores_nothing(web: Web, mastodon_server: Any,
                                                                    key: str) -> None:
    client = web.client()
    start = client.post("/c/test/connect/mastodon", data={"instance": mastodon_server.base_url})
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    callback = "/connect/mastodon/callback"
    assert client.get(callback, params={"code": "mockcode_bob", "state": "forged"}).status_code == 400
    # the forged attempt used the flow up: the right state no longer works either
    assert client.get(callback, params={"code": "mockcode_bob", "state": state}).status_code == 400
    new_state = parse_qs(urlsplit(client.post("/c/test/connect/mastodon", data={
        "instance": mastodon_server.base_url}).headers["location"]).query)["state"][0]
    refused = client.get("/connect/mastodon/callback", params={"error": "access_denied", "state": new_state})
    assert refused.status_code == 400 and "nothing was stored" in refused.text
    with web.core.sessions() as session:
        assert service.list_supporters(session) == []


@SQLITE
def test_a_bad_server_name_is_explained_next_to_the_campaign(web: Web, key: str) -> None:
    answer = web.client().post("/c/test/connect/mastodon", data={"instance": "not a server"})
    assert answer.status_code == 400 and "like mastodon.social" in answer.text and 'href="/c/test"' in answer.text


@SQLITE
def test_without_the_secret_key_the_kit_offers_no_connection(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMPAIGN_BOT_SECRET_KEY", raising=False)
    monkeypatch.delenv("CAMPAIGN_BOT_SECRET_KEY_FILE", raising=False)
    assert "Connect Mastodon" not in web.client().get("/c/test").text
    answer = web.client().post("/c/test/connect/bluesky", data={"handle": "a.bsky.social",
                                                                "app_password": "abcd-efgh-ijkl-mnop"})
    assert answer.status_code == 400 and "not set up" in answer.text


@pytest.fixture
def pds() -> Iterator[Any]:
    """The supporter's Bluesky server: our fake PDS (tests/fake_networks.py)."""
    from tests.fake_networks import FakeBluesky

    server = FakeBluesky(handle="alice.bsky.social", password="abcd-efgh-ijkl-mnop").start()
    yield server
    server.stop()


@SQLITE
def test_a_bluesky_supporter_connects_with_an_app_password_and_never_their_own(web: Web, key: str,
                                                                                pds: Any) -> None:
    client = web.client()
    assert "App passwords" in client.get("/c/test").text
    form = {"handle": "@Alice.bsky.social", "server": pds.url}
    refused = client.post("/c/test/connect/bluesky", data={**form, "app_password": "my own password"})
    assert refused.status_code == 400 and "never give your own password" in refused.text
    wrong = client.post("/c/test/connect/bluesky", data={**form, "app_password": "zzzz-zzzz-zzzz-zzzz"})
    assert wrong.status_code == 400 and "Bluesky refused this handle and app password" in wrong.text
    with web.core.sessions() as session:
        assert service.list_supporters(session) == []
    with recording() as seen:
        done = client.post("/c/test/connect/bluesky", data={**form, "app_password": "abcd-efgh-ijkl-mnop"})
    assert done.status_code == 303 and done.headers["location"].startswith("/m/")
    assert seen == ["supporters.connect"]
    with web.core.sessions() as session:
        row = session.scalars(select(SupporterRow)).one()
        assert (row.network, row.handle, row.api_base_url) == ("bluesky", "alice.bsky.social", pds.url)
        assert service.credentials(session, require_cipher(), row.id) == {"app_password": "abcd-efgh-ijkl-mnop"}
    assert b"alice.bsky.social" in database_bytes(web)
    assert b"abcd-efgh-ijkl-mnop" not in database_bytes(web)


def test_pkce_challenge_is_the_s256_of_the_verifier_and_mastodon_mock_offers_it(mastodon_server: Any) -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == expected
    assert server_info(mastodon_server.base_url, Reach.LOCAL).pkce


@SQLITE
def test_a_supporter_connected_on_the_web_boosts_the_organisations_next_post(
        make_app: Any, campaigns_dir: Path, monkeypatch: pytest.MonkeyPatch, mastodon_server: Any,
        clock: Any) -> None:
    from bot.supporters.waves import tick
    from bot.web.app import create_app
    from bot.worker.dispatch import Dispatcher
    from tests.test_supporters_boost import boost_app, boosters, org_posts

    core = boost_app(make_app, campaigns_dir, monkeypatch, mastodon_server,  # the organisation posts as alice
                     amplify_extra='public_url = "http://127.0.0.1"\n')
    client = TestClient(create_app(core, secret_key="x" * 40), base_url="http://127.0.0.1", follow_redirects=False)
    connect_mastodon(client, mastodon_server.base_url, "bob")
    post = org_posts(core, clock)
    assert tick(core).planned == 1
    Dispatcher(core).run_once()
    assert post.remote_id is not None and boosters(mastodon_server, post.remote_id) == ["bob"]


@SQLITE
def test_the_link_the_cli_prints_starts_the_same_flow_for_every_campaign_at_the_public_address(
        make_app: Any, campaigns_dir: Path, mastodon_server: Any, key: str) -> None:
    from bot.web.app import create_app
    from tests.conftest import write_campaign

    write_campaign(campaigns_dir)
    core = make_app(config_extra='[amplify]\npublic_url = "http://localhost:8080"\n')
    load(core)
    client = TestClient(create_app(core, secret_key="x" * 40), base_url="http://127.0.0.1", follow_redirects=False)
    start = client.get("/supporters/connect/mastodon", params={"instance": mastodon_server.base_url})
    assert start.status_code == 303
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["redirect_uri"] == ["http://localhost:8080/connect/mastodon/callback"]
    back = authorise_on_the_instance(start.headers["location"], "carol")
    assert back.startswith("http://localhost:8080/connect/mastodon/callback?")
    done = client.get(back.removeprefix("http://localhost:8080"))
    assert done.status_code == 303
    with core.sessions() as session:
        supporter = service.connected_supporters(session)[0]
    assert supporter.all_campaigns and supporter.handle and supporter.handle.startswith("carol@")


def test_only_public_mastodon_servers_are_called_unless_the_app_itself_runs_locally() -> None:
    from bot.errors import UserError
    from bot.networks.outbound import Reach
    from bot.web.connect import mastodon_server

    assert mastodon_server("http://127.0.0.1:3000", Reach.LOCAL) == ("127.0.0.1:3000", "http://127.0.0.1:3000")
    for typed in ("http://127.0.0.1:3000", "localhost", "not a server", "10.0.0.1"):
        with pytest.raises(UserError):
            mastodon_server(typed)


def test_a_server_before_mastodon_4_3_gets_the_code_flow_without_pkce_and_errors_hold_no_secret() -> None:
    from bot.networks.mastodon.oauth import OAuthError, authorize_url, exchange_code
    from tests.httpfake import FakeServer
    from tests.httpfake import Request as FakeRequest
    from tests.httpfake import Response as FakeResponse

    old = FakeServer()  # no /.well-known/oauth-authorization-server: it answers 404

    @old.route("POST", "/oauth/token")
    def token(req: FakeRequest) -> FakeResponse:
        return FakeResponse(200, {"access_token": "tok-from-old-server", "token_type": "Bearer"})

    old.start()
    try:
        info = server_info(old.url, Reach.LOCAL)
        assert not info.pkce and info.token_endpoint == f"{old.url}/oauth/token"
        url = authorize_url(info, "cid", "https://bot.example/cb", "read:accounts", "st", None)
        assert "code_challenge" not in url and url.startswith(f"{old.url}/oauth/authorize?")
        assert exchange_code(info, "cid", "csecret", "https://bot.example/cb", "read:accounts", "c0de", None,
                             Reach.LOCAL) == "tok-from-old-server"
        sent = old.requests[-1].form()
        assert "code_verifier" not in sent and sent["code"] == ["c0de"] and sent["client_secret"] == ["csecret"]
        old.fail_next("POST", "/oauth/token", FakeResponse(400, {"error": "invalid_grant"}))
        with pytest.raises(OAuthError) as refused:
            exchange_code(info, "cid", "csecret", "https://bot.example/cb", "read:accounts", "c0de", None, Reach.LOCAL)
        assert "400" in str(refused.value) and "csecret" not in str(refused.value) and "c0de" not in str(refused.value)
    finally:
        old.stop()
