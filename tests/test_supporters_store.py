"""The supporter store: connect, choose campaigns, disconnect, the manage link, apps kept per instance, keys
that rotate. No token is ever stored in clear."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

import bot.store.supporters  # noqa: F401 - registers the tables
from bot.bootstrap import App
from bot.errors import UserError
from bot.store.db import make_engine, upgrade
from bot.store.models import AuditRow, Base
from bot.store.supporters import SupporterRow
from bot.supporters import service
from bot.supporters.crypto import Cipher, SecretKeyError, cipher_from_env, new_key, require_cipher

TOKEN = "tok-SECRET-mastodon-0123456789"
APP_PASSWORD = "abcd-efgh-SECRET-ijkl"
SUPPORTER_TABLES = {"supporters", "supporter_campaigns", "mastodon_apps", "amplify_waves"}


def test_the_supporters_migration_matches_the_tables(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    flat = [x for d in diff for x in (d if isinstance(d, list) else [d])]
    ours = [d for d in flat if SUPPORTER_TABLES & set(str(d).replace("'", " ").replace("(", " ").split())]
    assert ours == []
    engine.dispose()


def test_a_supporter_connects_chooses_campaigns_and_finds_themselves_by_the_manage_link(
        make_app: Callable[..., App]) -> None:
    app = make_app()
    cipher = Cipher([new_key()])
    now = app.clock.now()
    with app.sessions.begin() as s:
        done = service.connect(s, cipher, now, network="mastodon", name="alice@example.social",
                               credentials={"access_token": TOKEN}, instance="example.social",
                               api_base_url="https://example.social", handle="alice@example.social",
                               campaigns=["test"], actor="web")
    supporter = done.supporter
    assert supporter.account_id == f"supporter:{supporter.id}"
    assert service.supporter_id_of(supporter.account_id) == supporter.id
    assert supporter.campaigns == ("test",) and not supporter.all_campaigns
    assert supporter.amplifies("test") and not supporter.amplifies("other")
    with app.sessions.begin() as s:
        found = service.by_manage_token(s, done.manage_token)
        assert found is not None and found.id == supporter.id
        assert service.by_manage_token(s, "wrong") is None
        assert service.credentials(s, cipher, supporter.id) == {"access_token": TOKEN}
        changed = service.set_campaigns(s, supporter.id, None, now, actor="web")
    assert changed.all_campaigns and changed.amplifies("anything")


def test_connecting_again_makes_a_new_supporter_and_disconnects_the_old_one(make_app: Callable[..., App]) -> None:
    app = make_app()
    cipher = Cipher([new_key()])
    now = app.clock.now()
    kwargs = dict(network="mastodon", name="alice@example.social", instance="example.social",
                  api_base_url="https://example.social", handle="alice@example.social", actor="web")
    with app.sessions.begin() as s:
        first = service.connect(s, cipher, now, credentials={"access_token": "one"}, **kwargs)  # type: ignore[arg-type]
        second = service.connect(s, cipher, now, credentials={"access_token": "two"}, **kwargs)  # type: ignore[arg-type]
        assert second.supporter.id != first.supporter.id  # a worker never holds a stale token under one id
        old = service.by_id(s, first.supporter.id)
        assert old is not None and old.state == "disconnected" and old.disconnect_reason == "connected again"
        assert service.by_manage_token(s, first.manage_token) is None
        found = service.by_manage_token(s, second.manage_token)
        assert found is not None and found.id == second.supporter.id
        assert service.credentials(s, cipher, second.supporter.id) == {"access_token": "two"}
        assert service.credentials(s, cipher, first.supporter.id) == {}
        with pytest.raises(UserError, match="taken"):
            service.connect(s, cipher, now, network="bluesky", name="alice@example.social",
                            credentials={"app_password": "x"}, handle="alice.bsky.social", actor="cli")


def test_disconnecting_deletes_the_token_and_personal_data_and_keeps_the_audit_trail(
        make_app: Callable[..., App]) -> None:
    app = make_app()
    cipher = Cipher([new_key()])
    now = app.clock.now()
    with app.sessions.begin() as s:
        done = service.connect(s, cipher, now, network="bluesky", name="bob", handle="bob.bsky.social",
                               instance="bsky.social", api_base_url="https://bsky.social",
                               credentials={"app_password": APP_PASSWORD}, campaigns=["test"], actor="cli")
    with app.sessions.begin() as s:
        gone = service.disconnect(s, done.supporter.id, now, "asked on the manage page", actor="supporter")
    assert gone.state == "disconnected" and gone.name == f"supporter-{gone.id}"
    assert gone.handle is None and gone.api_base_url is None and gone.campaigns == ()
    assert not gone.amplifies("test")
    with app.sessions() as s:
        row = s.get(SupporterRow, gone.id)
        assert row is not None and row.credentials is None and row.manage_token_hash is None
        assert service.by_manage_token(s, done.manage_token) is None
        assert service.credentials(s, cipher, gone.id) == {}
        actions = [a.action for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]
        audit_text = " ".join(f"{a.note} {a.details}" for a in s.scalars(select(AuditRow)))
    assert actions[-2:] == ["supporter_connected", "supporter_disconnected"]
    assert "bob.bsky.social" not in audit_text and APP_PASSWORD not in audit_text


def test_the_database_file_never_holds_a_token_in_clear(tmp_path: Path, make_app: Callable[..., App],
                                                       database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("reads the SQLite file")
    app = make_app()
    cipher = Cipher([new_key()])
    with app.sessions.begin() as s:
        service.connect(s, cipher, app.clock.now(), network="mastodon", name="alice",
                        credentials={"access_token": TOKEN}, instance="example.social",
                        api_base_url="https://example.social", actor="cli")
        service.save_mastodon_app(s, cipher, app.clock.now(), instance="example.social",
                                  api_base_url="https://example.social", client_id="cid",
                                  client_secret="client-SECRET-42", redirect_uri="https://bot/cb")
    app.engine.dispose()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("bot.db*"))
    assert TOKEN.encode() not in raw and b"client-SECRET-42" not in raw


def test_a_mastodon_app_is_registered_once_per_instance_and_kept(make_app: Callable[..., App]) -> None:
    app = make_app()
    cipher = Cipher([new_key()])
    calls: list[tuple[str, str, str]] = []

    def register(api_base_url: str, redirect_uri: str, scopes: str) -> tuple[str, str]:
        calls.append((api_base_url, redirect_uri, scopes))
        return "client-id", "client-secret"

    for _ in range(2):
        with app.sessions.begin() as s:
            kept = service.ensure_mastodon_app(s, cipher, app.clock.now(), "example.social",
                                               "https://example.social", "https://bot/cb", register)
    assert calls == [("https://example.social", "https://bot/cb", service.SCOPES)]
    assert kept.client_secret == "client-secret"
    assert "write:statuses" in service.SCOPES and "read:search" in service.SCOPES


def test_rotating_the_key_re_encrypts_every_secret_with_the_first_key(make_app: Callable[..., App]) -> None:
    app = make_app()
    old, new = new_key(), new_key()
    with app.sessions.begin() as s:
        done = service.connect(s, Cipher([old]), app.clock.now(), network="mastodon", name="alice",
                               credentials={"access_token": TOKEN}, actor="cli")
        service.save_mastodon_app(s, Cipher([old]), app.clock.now(), instance="h", api_base_url="https://h",
                                  client_id="c", client_secret="s", redirect_uri="https://bot/cb")
    with app.sessions.begin() as s:
        assert service.rotate_secrets(s, Cipher([new, old])) == 2
    with app.sessions() as s:
        assert service.credentials(s, Cipher([new]), done.supporter.id) == {"access_token": TOKEN}
        app_kept = service.mastodon_app(s, Cipher([new]), "h")
        assert app_kept is not None and app_kept.client_secret == "s"
        with pytest.raises(SecretKeyError, match="cannot be decrypted") as caught:
            service.credentials(s, Cipher([old]), done.supporter.id)
    assert TOKEN not in str(caught.value)


def test_the_key_comes_from_the_environment_and_a_bad_one_is_one_clear_line() -> None:
    key = new_key()
    assert cipher_from_env({}) is None
    cipher = cipher_from_env({"CAMPAIGN_BOT_SECRET_KEY": f"{key}, {new_key()}"})
    assert cipher is not None and cipher.key_count == 2
    with pytest.raises(SecretKeyError, match="key 2 of 2 is not a Fernet key") as caught:
        cipher_from_env({"CAMPAIGN_BOT_SECRET_KEY": f"{key},not-a-key"})
    assert "not-a-key" not in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(SecretKeyError, match="CAMPAIGN_BOT_SECRET_KEY is not set"):
        require_cipher({})


def test_a_worker_keeps_a_bounded_number_of_supporters_adapters(make_app: Callable[..., App],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.bootstrap

    monkeypatch.setattr(bot.bootstrap, "OUTSIDE_ADAPTERS", 2)
    app = make_app()
    cipher = Cipher([new_key()])
    with app.sessions.begin() as s:
        ids = [service.connect(s, cipher, app.clock.now(), network="mastodon", name=f"s{n}",
                               credentials={"access_token": TOKEN}, api_base_url="https://example.social",
                               actor="cli").supporter.account_id for n in range(3)]
    first = app.network(ids[0])
    assert app.network(ids[0]) is first
    app.network(ids[1])
    app.network(ids[2])  # the oldest is let go
    again = app.network(ids[0])
    assert again is not first and again.account_id == ids[0]
    assert app.network("a1") is app.network("a1")  # config accounts are always kept
