"""`campaign-bot supporters ...` and `secrets ...`: add (the token read once from a variable, checked against
mastodon-mock, stored encrypted), list, remove, undo, connect-url; rotate; and no start without the key."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from bot.actions.base import recording
from bot.bootstrap import App
from bot.cli import cli
from bot.supporters import service
from bot.supporters.crypto import Cipher, new_key
from tests.conftest import write_campaign

KEY = new_key()


@pytest.fixture(scope="module")
def mastodon_server() -> Iterator[Any]:
    from mastodon_mock.testing.server import MockServer

    with MockServer() as server:
        yield server


@pytest.fixture
def mock(mastodon_server: Any) -> Any:
    httpx.post(f"{mastodon_server.base_url}/api/v1/_mock/reset", timeout=30).raise_for_status()
    return mastodon_server


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def app(make_app: Callable[..., App], campaigns_dir: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", KEY)
    write_campaign(campaigns_dir)  # campaign "test": `supporters add --campaign` refuses an unknown one
    return make_app(config_extra='[amplify]\npublic_url = "https://bot.example.org"\n')


def test_a_supporter_added_from_the_cli_is_listed_and_removed(app, mock, monkeypatch):
    monkeypatch.setenv("BOB_TOKEN", "bob_token")
    with recording() as seen:  # each command is an action (bot/actions/supporters.py)
        code, out, err = invoke("supporters", "add", "--network", "mastodon", "--api-base-url", mock.base_url,
                                "--access-token-env", "BOB_TOKEN", "--name", "bob", "--campaign", "test", "--by", "ana")
    assert code == 0 and seen == ["supporters.connect"], err
    assert "supporter bob (mastodon, bob@" in out and "boosts test" in out and "bob_token" not in out
    code, out, _ = invoke("supporters", "list", "--json")
    [listed] = json.loads(out)
    assert (listed["name"], listed["state"], listed["campaigns"]) == ("bob", "connected", ["test"])
    with recording() as seen:
        code, out, _ = invoke("supporters", "remove", "bob", "--by", "ana")
    assert code == 0 and "disconnected" in out and seen == ["supporters.disconnect"]
    code, out, _ = invoke("supporters", "list")
    assert "disconnected (removed with the CLI by ana)" in out and "bob" not in out.replace("by ana", "")


def test_a_refused_token_is_one_line_and_nothing_is_stored(app, mock, monkeypatch):
    monkeypatch.setenv("BAD_TOKEN", "not-a-token")
    code, _, err = invoke("supporters", "add", "--network", "mastodon", "--api-base-url", mock.base_url,
                          "--access-token-env", "BAD_TOKEN", "--name", "x")
    assert code == 1 and err.startswith("error: mastodon did not accept the credentials in $BAD_TOKEN")
    assert len(err.strip().splitlines()) == 1 and "not-a-token" not in err
    code, _, err = invoke("supporters", "add", "--network", "mastodon", "--api-base-url", mock.base_url,
                          "--access-token-env", "UNSET_TOKEN", "--name", "x")
    assert code == 1 and "$UNSET_TOKEN" in err
    assert invoke("supporters", "list")[1].strip() == "no supporters"


def test_the_connect_url_points_at_the_web_apps_oauth_start(app):
    code, out, _ = invoke("supporters", "connect-url", "--network", "mastodon", "--instance", "mastodon.social")
    assert code == 0
    assert out.strip() == "https://bot.example.org/supporters/connect/mastodon?instance=mastodon.social"


def test_rotating_the_key_and_starting_without_it(app, monkeypatch):
    with app.sessions.begin() as s:
        done = service.connect(s, Cipher([KEY]), app.clock.now(), network="mastodon", name="bob",
                               credentials={"access_token": "bob_token"}, actor="test")
    newer = new_key()
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", f"{newer},{KEY}")
    code, out, err = invoke("secrets", "rotate")
    assert code == 0 and "1 secret(s) re-encrypted with the first of 2 key(s)" in out, err
    with app.sessions() as s:
        assert service.credentials(s, Cipher([newer]), done.supporter.id) == {"access_token": "bob_token"}
    monkeypatch.delenv("CAMPAIGN_BOT_SECRET_KEY")
    code, _, err = invoke("run")
    assert code == 1
    assert err.strip() == ("error: $CAMPAIGN_BOT_SECRET_KEY is not set, and the database holds supporters' "
                           "encrypted tokens: set it to the key they were encrypted with")
    code, _, err = invoke("web", "--port", "1")  # refused before it listens
    assert code == 1 and err.startswith("error: $CAMPAIGN_BOT_SECRET_KEY is not set")
    code, _, err = invoke("run", "--web", "--port", "1")  # said once, and nothing said to have started
    assert code == 1 and err.strip().startswith("error: $CAMPAIGN_BOT_SECRET_KEY is not set"), err
    assert len(err.strip().splitlines()) == 1 and "started" not in err
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", KEY)  # the old key, removed after the rotation
    code, _, err = invoke("run")
    assert code == 1 and "cannot be decrypted with any key" in err and len(err.strip().splitlines()) == 1


def test_a_bluesky_supporter_is_added_with_an_app_password_checked_by_logging_in(app, monkeypatch):
    from tests.fake_networks import FakeBluesky

    pds = FakeBluesky(handle="fan.bsky.social", password="fan-app-password").start()
    try:
        monkeypatch.setenv("FAN_PASSWORD", "wrong")
        code, _, err = invoke("supporters", "add", "--network", "bluesky", "--handle", "fan.bsky.social",
                              "--app-password-env", "FAN_PASSWORD", "--service-url", pds.url, "--name", "fan")
        assert code == 1 and "did not accept the credentials in $FAN_PASSWORD" in err and "wrong" not in err
        monkeypatch.setenv("FAN_PASSWORD", "fan-app-password")
        code, out, err = invoke("supporters", "add", "--network", "bluesky", "--handle", "fan.bsky.social",
                                "--app-password-env", "FAN_PASSWORD", "--service-url", pds.url, "--name", "fan")
        assert code == 0, err
        assert "supporter fan (bluesky, fan.bsky.social) connected: boosts every campaign" in out
    finally:
        pds.stop()
    with app.sessions() as s:
        [fan] = service.list_supporters(s)
        assert service.credentials(s, Cipher([KEY]), fan.id) == {"app_password": "fan-app-password"}


def test_an_unknown_campaign_is_refused_in_one_line_naming_it(app, mock, monkeypatch):
    monkeypatch.setenv("BOB_TOKEN", "bob_token")
    code, out, err = invoke("supporters", "add", "--network", "mastodon", "--api-base-url", mock.base_url,
                            "--access-token-env", "BOB_TOKEN", "--name", "bob", "--campaign", "nosuch")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "no campaign 'nosuch'" in err
    code, _, err = invoke("supporters", "add", "--network", "mastodon", "--api-base-url", mock.base_url,
                          "--access-token-env", "BOB_TOKEN", "--name", "bob", "--campaign", "tset")
    assert code == 1 and "no campaign 'tset' (did you mean 'test'?)" in err
    assert invoke("supporters", "list")[1].strip() == "no supporters"


def test_removing_a_supporter_already_disconnected_changes_nothing(app, mock, monkeypatch):
    monkeypatch.setenv("BOB_TOKEN", "bob_token")
    invoke("supporters", "add", "--network", "mastodon", "--api-base-url", mock.base_url,
           "--access-token-env", "BOB_TOKEN", "--name", "bob", "--by", "ana")
    assert invoke("supporters", "remove", "bob", "--by", "ana")[0] == 0
    [before] = json.loads(invoke("supporters", "list", "--json")[1])
    code, out, _ = invoke("supporters", "remove", before["name"], "--by", "eve")
    assert code == 0
    assert out.strip() == f"supporter {before['name']} was already disconnected (removed with the CLI by ana); " \
                          "nothing changed"
    assert json.loads(invoke("supporters", "list", "--json")[1]) == [before]


def test_adding_the_same_account_under_a_new_name_says_it_replaces_the_first(app, mock, monkeypatch):
    monkeypatch.setenv("BOB_TOKEN", "bob_token")
    add = ("supporters", "add", "--network", "mastodon", "--api-base-url", mock.base_url,
           "--access-token-env", "BOB_TOKEN")
    code, out, _ = invoke(*add, "--name", "bob")
    assert code == 0 and "replaces" not in out
    code, out, _ = invoke(*add, "--name", "bobby")
    assert code == 0 and "replaces bob, now disconnected" in out
    states = {s["name"]: s["state"] for s in json.loads(invoke("supporters", "list", "--json")[1])}
    assert states["bobby"] == "connected" and list(states.values()).count("disconnected") == 1


def test_undoing_a_supporters_boosts_from_the_cli_plans_the_unboosts(app, mock, monkeypatch):
    monkeypatch.setenv("BOB_TOKEN", "bob_token")
    code, _, err = invoke("supporters", "add", "--network", "mastodon", "--api-base-url", mock.base_url,
                          "--access-token-env", "BOB_TOKEN", "--name", "bob")
    assert code == 0, err
    with recording() as seen:
        code, out, err = invoke("supporters", "undo", "bob", "--campaign", "test")
    assert code == 0 and out.strip() == "0 unboost(s) planned for bob" and seen == ["supporters.undo_boosts"], err
    code, _, err = invoke("supporters", "undo", "nobody")
    assert code == 1 and err.strip() == "error: no supporter named 'nobody' (see `campaign-bot supporters list`)"
