"""Shared setup for the web tests: an app with the test campaign loaded, one user per role, a client."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.actions import people
from bot.actions.base import Actor, Via
from bot.actions.files import sync_files
from bot.bootstrap import App
from bot.states import Role
from bot.web.app import create_app
from tests.conftest import write_campaign

PASSWORD = "correct horse battery"
ROLES = ("organiser", "staff", "admin")
WEB_CONFIG = '[amplify]\npublic_url = "http://127.0.0.1"\n'
"""The public address the test client speaks to (the OAuth callback is built from it, never from a request)."""


@dataclass
class Web:
    core: App
    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, role: str | None = None) -> TestClient:
        """A client signed in as the user of that role (none: anonymous)."""
        client = TestClient(self.app, base_url="http://127.0.0.1", follow_redirects=False,
                            headers={"Accept-Language": "en"})  # an English browser (tests/test_languages.py: others)
        if role:
            sign_in(client, role)
        return client


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = client.get(path).text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client)
    return client.post("/login", data={"name": name, "password": password, "csrf": token, "next": "/"})


ADMIN = Actor("test", Role.ADMIN, Via.CLI)


def load(core: App) -> None:
    sync_files(core, core.load_campaigns())


def add_user(core: App, name: str, role: str, password: str = PASSWORD) -> None:
    people.add_user(core, ADMIN, name, role, password)


def token_for(core: App, role: str, name: str | None = None, owner: str | None = None) -> str:
    """An API token acting as the user ``owner`` (default: the user named after the role)."""
    who = people.person(core, owner or role, Via.CLI) or Actor(owner or role, Role(role), Via.CLI)
    return people.create_token(core, who, name or f"script-{role}-{owner or role}", role)[1]


@pytest.fixture
def web(make_app: Callable[..., App], campaigns_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Web]:
    # The cheapest argon2 parameters: the tests check the flow, not the hash's cost (2 shared cores).
    monkeypatch.setattr(people, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    write_campaign(campaigns_dir)
    core = make_app(config_extra=WEB_CONFIG)
    load(core)
    for role in ROLES:
        add_user(core, role, role)
    yield Web(core, create_app(core, secret_key="x" * 40))
