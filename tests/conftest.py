"""Shared fixtures. Every test that touches the database runs on SQLite and, when
CAMPAIGN_BOT_TEST_POSTGRES_URL is set (CI sets it), on PostgreSQL too.

../shared (the real services' recordings, the conformance cases) is found with `shared()`: a test that needs it
is skipped when it is missing, except under CI=true, where it fails: a green CI has always replayed them."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.clock import FakeClock
from bot.config.settings import load_config
from bot.store.db import ensure_schema, make_engine
from bot.store.models import DeliveryRow
from tests.fakes import FakeNetwork
from tests.pg import create_database, drop_database, empty

PG_ENV = "CAMPAIGN_BOT_TEST_POSTGRES_URL"
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

# Monday 30 November 2026, 13:00 UTC = 08:00 in Lima.
START = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)

TARGETS = """
[cancilleria-peru]
name = "Ministerio de Relaciones Exteriores del Perú"
role = "Ministry of Foreign Affairs"
x = "@CancilleriaPeru"
"""


@pytest.fixture(autouse=True)
def local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake servers the tests start run on 127.0.0.1: say so explicitly, as a developer would
    (CAMPAIGN_BOT_LOCAL_SERVERS, README). tests/test_security_*.py take it away to attack the default."""
    monkeypatch.setenv("CAMPAIGN_BOT_LOCAL_SERVERS", "1")


@pytest.fixture(autouse=True)
def no_instance_from_another_test() -> None:
    """Mastodon instances' limits and domain are shared in the process by address (many supporters share one
    instance). Tests start servers on ports the system hands out again: an earlier test's server at this
    address is not this test's, so each test starts with nothing remembered (a remembered domain that is not
    the server's made boosts search for their own instance's statuses, and fail, in whole-suite runs)."""
    from bot.networks.mastodon import adapter

    adapter._INSTANCES.clear()


def campaign_toml(**overrides: str) -> str:
    """A small valid campaign; each keyword replaces one top-level line or section by name."""
    parts = {
        "title": 'title = "Test campaign"',
        "reference": 'reference = "UA 1/26"',
        "languages": 'languages = ["es", "en"]',
        "timezone": 'timezone = "America/Lima"',
        "status": 'status = "active"',
        "link": 'link = "https://example.org/ua"',
        "targets": 'targets = ["cancilleria-peru"]',
        "accounts": 'accounts = ["a1", "a2"]',
        "ask": 'ask = { es = "Actúe ya", en = "Act now" }',
        "hashtags": 'hashtags = ["Peru"]',
        "extra": "",
        "schedule": '[[schedule]]\nid = "daily"\ncron = "0 9,15 * * *"',
        "messages": textwrap.dedent("""\
            [[messages.call_to_action]]
            text = { es = "CTA uno {{ targets[0].mention }} {{ ask }} {{ link }}", en = "CTA one {{ targets[0].mention }} {{ ask }} {{ link }}" }
            [[messages.call_to_action]]
            text = { es = "CTA dos {{ hashtags }}", en = "CTA two {{ hashtags }}" }
            [[messages.call_to_action]]
            text = { es = "CTA tres", en = "CTA three" }
            [messages.closing.success]
            text = { es = "Gracias: no se requieren más acciones.", en = "No further action is requested. Many thanks to all who sent appeals." }
            [messages.closing.no_further_action]
            text = { es = "No se requieren más acciones.", en = "No further action is requested." }
            """),
    }
    parts.update(overrides)
    if "languages" in overrides:
        languages = tomllib.loads(overrides["languages"])["languages"]
        if "messages" not in overrides:
            parts["messages"] = _only_languages(parts["messages"], languages)
        if "ask" not in overrides:
            asks = {k: v for k, v in tomllib.loads(parts["ask"])["ask"].items() if k in languages}
            parts["ask"] = "ask = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in asks.items()) + " }"
    top = [v for k, v in parts.items() if k not in ("schedule", "messages") and v]
    return "\n".join(top) + "\n\n" + parts["schedule"] + "\n\n" + parts["messages"] + "\n"


def _only_languages(messages: str, languages: list[str]) -> str:
    """The default messages with texts for the given languages only (validate refuses a text for a language
    the campaign does not post in)."""
    lines = []
    for line in messages.splitlines():
        if line.startswith("text = {"):
            texts = {k: v for k, v in tomllib.loads(line)["text"].items() if k in languages}
            line = "text = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in texts.items()) + " }"
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.fixture
def campaigns_dir(tmp_path: Path) -> Path:
    d = tmp_path / "campaigns"
    d.mkdir()
    (d / "targets.toml").write_text(TARGETS, encoding="utf-8")
    return d


def write_campaign(directory: Path, cid: str = "test", **overrides: str) -> Path:
    path = directory / f"{cid}.toml"
    path.write_text(campaign_toml(**overrides), encoding="utf-8")
    return path


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def shared(relative: str) -> Path:
    """A path in ../shared for the calling test. Missing: skip on a developer's machine; fail under CI=true."""
    path = SHARED / relative
    if path.exists():
        return path
    reason = f"{path} not found: ../shared must sit beside the project"
    if under_ci():
        pytest.fail(f"{reason} (CI=true: these tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


_ENVIRONMENT = pytest.StashKey[dict[str, str]]()


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}  # that one is pytest's own


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_ENVIRONMENT] = _environment()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A test that changes os.environ leaks it into every test after it (tokens, URLs): use monkeypatch.setenv.
    Checked once every fixture of the test is torn down, so monkeypatch has put things back already."""
    result = yield
    before, after = item.stash.get(_ENVIRONMENT, None), _environment()
    if before is not None and after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        pytest.fail(f"the test left os.environ changed ({', '.join(changed)}): use monkeypatch.setenv",
                    pytrace=False)
    return result


def _pg_url() -> str | None:
    return os.environ.get(PG_ENV)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A database of our own on the PostgreSQL server, migrated once, dropped at the end."""
    url = _pg_url()
    if not url:
        yield None
        return
    test_url, name = create_database(url)
    try:
        yield test_url
    finally:
        drop_database(url, name)


def beat(app: App) -> None:
    """Stand in for a live worker: its heartbeat, as the daemon writes it."""
    from bot.outbox import workers

    with app.engine.begin() as conn:
        workers.beat(conn, app.owner, app.clock.now())


def deliveries(app: App, **where: Any) -> list[DeliveryRow]:
    """Delivery rows matching column=value filters, in id order."""
    with app.sessions() as s:
        stmt = select(DeliveryRow).order_by(DeliveryRow.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(DeliveryRow, k) == v)
        return list(s.scalars(stmt))


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once; each test's starts as a copy of it (migrating a new file cost each test
    0.1-0.2 s of Alembic and fsyncs). Closed first, so its WAL is checkpointed into the file copied."""
    path = tmp_path_factory.mktemp("template") / "bot.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    assert not path.with_name("bot.db-wal").exists()
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, pg_database: str | None) -> Iterator[str]:
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "bot.db")
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    if pg_database is None:
        pytest.skip(f"PostgreSQL tests need ${PG_ENV}")
    empty(pg_database)
    yield pg_database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def make_app(
    tmp_path: Path, campaigns_dir: Path, database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., App]]:
    """Build the app as the CLI would, with a config file, a fake clock and fake networks."""
    apps: list[App] = []
    monkeypatch.chdir(tmp_path)

    def factory(networks: dict[str, FakeNetwork] | None = None, config_extra: str = "",
                accounts: tuple[str, ...] = ("a1", "a2"), **bot: Any) -> App:
        lines = ["[bot]", f'database_url = "{database_url}"', f'campaigns_dir = "{campaigns_dir}"']
        lines += [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in bot.items()]
        for a in accounts:
            lines += [f"[accounts.{a}]", 'network = "console"']
        cfg = tmp_path / "config.toml"
        cfg.write_text("\n".join(lines) + "\n" + config_extra, encoding="utf-8")
        nets = networks if networks is not None else {a: FakeNetwork(a) for a in accounts}
        app = bootstrap(load_config(cfg), clock=clock, networks=nets)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.engine.dispose()


@pytest.fixture
def mastodon_server() -> Iterator[Any]:
    """A fresh mastodon-mock (an independent implementation of Mastodon's API) on 127.0.0.1, for one test."""
    from mastodon_mock.testing.server import MockServer

    with MockServer() as server:
        yield server


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALL = "apt-get update && apt-get install -y chromium"


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"browser tests need Chromium at {CHROMIUM}: {CHROMIUM_INSTALL}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One Chromium for a module's browser tests, started when the first needs it; each test opens a context
    of its own (cookies, storage, locale and viewport apart). Starting Playwright and Chromium for every test
    cost 1.5-2 s each. Not for the session: while Playwright's sync API runs, its event loop is the thread's
    running loop, and the tests after it that call asyncio.run (Telegram's client, Starlette's test client) fail."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()
