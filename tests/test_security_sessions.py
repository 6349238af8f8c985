"""An attacker with a copied cookie, a copy of the database, a script that guesses passwords (alone, from many
addresses, concurrently, or behind a forged X-Forwarded-For), or a link previewer: sessions end when they
should, keys do one job each, guessing slows down without locking anyone out, and a password link is spent
only by the person using it."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import itsdangerous
import pytest
import uvicorn
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from bot.actions import people
from bot.cli.web import server_options
from bot.clock import FakeClock
from bot.errors import UserError
from bot.web.app import cookie_keys, create_app
from tests.web_fixtures import PASSWORD, Web, csrf_of, sign_in, web  # noqa: F401 - the fixture

__all__ = ["web"]
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def cookie_of(client: TestClient) -> str:
    return str(client.cookies.get("campaign_bot"))


def signed_in(client: TestClient) -> bool:
    return client.get("/").status_code == 200


def with_cookie(web: Web, cookie: str) -> TestClient:
    stranger = web.client()
    stranger.cookies.set("campaign_bot", cookie)
    return stranger


def advance(web: Web, delta: timedelta) -> None:
    clock = web.core.clock
    assert isinstance(clock, FakeClock)
    clock.advance(delta)


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(web: Web) -> None:
    staff = web.client("staff")
    copied = with_cookie(web, cookie_of(staff))
    assert signed_in(copied)
    staff.post("/logout", data={"csrf": csrf_of(staff, "/")})
    assert not signed_in(copied)


def test_changing_a_password_signs_out_every_other_session_and_needs_the_current_one(web: Web) -> None:
    laptop, phone = web.client("staff"), web.client("staff")
    stolen = cookie_of(laptop)
    new = "a brand new long password"
    refused = laptop.post("/password", data={"csrf": csrf_of(laptop, "/password"), "current": "a guess at it",
                                             "password": new, "again": new})
    assert refused.status_code == 400 and "not your current password" in refused.text
    assert people.sign_in(web.core, "staff", new).actor is None
    changed = laptop.post("/password", data={"csrf": csrf_of(laptop, "/password"), "current": PASSWORD,
                                             "password": new, "again": new})
    assert changed.status_code == 303
    assert signed_in(laptop)  # this one goes on, with a new session id
    assert not signed_in(phone) and not signed_in(with_cookie(web, stolen))


def test_a_session_ends_twelve_hours_after_sign_in_however_busy_it_is(web: Web) -> None:
    client = web.client("organiser")
    for _ in range(23):  # a request every half hour: never idle
        advance(web, timedelta(minutes=30))
        assert signed_in(client)
    advance(web, timedelta(minutes=30))
    assert not signed_in(client)


def test_a_session_left_alone_for_two_hours_ends(web: Web) -> None:
    client = web.client("organiser")
    advance(web, timedelta(hours=2))
    assert not signed_in(client)


@SQLITE
def test_a_copy_of_the_database_signs_nobody_in(web: Web) -> None:
    client = web.client("admin")
    sid = json.loads(base64.b64decode(cookie_of(client).split(".")[0]))["sid"]
    path = Path(web.core.engine.url.database or "")
    database = b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))
    assert sid.encode() not in database  # only its hash is kept
    assert "web_secret" not in inspect(web.core.engine).get_table_names()  # no cookie key to sign with
    from sqlalchemy import select

    from bot.store.access import WebSessionRow
    with web.core.sessions() as s:
        stored = s.scalars(select(WebSessionRow.id_hash)).first()
    signer = itsdangerous.TimestampSigner(cookie_keys("x" * 40))  # even knowing the signing key
    for forged in ({"user": "admin"}, {"sid": stored}):
        cookie = signer.sign(base64.b64encode(json.dumps(forged).encode())).decode()
        assert not signed_in(with_cookie(web, cookie))


def test_each_key_does_one_job_and_rotating_the_master_key_keeps_people_signed_in(
        web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", old)
    cookie_key = cookie_keys()[-1]
    assert cookie_key not in (old.encode(), base64.urlsafe_b64decode(old))  # not the key that encrypts tokens
    app = create_app(web.core)
    client = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    sign_in(client, "staff")
    cookie = cookie_of(client)
    raw_signed = itsdangerous.TimestampSigner(old).sign(cookie.rsplit(".", 2)[0].encode()).decode()
    outsider = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    outsider.cookies.set("campaign_bot", raw_signed)  # signed with the master key itself, as before
    assert not signed_in(outsider)
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", f"{new},{old}")
    rotated = TestClient(create_app(web.core), base_url="http://127.0.0.1", follow_redirects=False)
    rotated.cookies.set("campaign_bot", cookie)
    assert signed_in(rotated)
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", new)
    dropped = TestClient(create_app(web.core), base_url="http://127.0.0.1", follow_redirects=False)
    dropped.cookies.set("campaign_bot", cookie)
    assert not signed_in(dropped)


def from_address(web: Web, address: str) -> TestClient:
    return TestClient(web.app, base_url="http://127.0.0.1", follow_redirects=False, client=(address, 40000))


def test_someone_guessing_the_admins_password_does_not_lock_the_admin_out(web: Web) -> None:
    attacker = from_address(web, "203.0.113.66")
    answers = [sign_in(attacker, "admin", f"guess number {i}").status_code for i in range(12)]
    assert answers[:5] == [400] * 5 and set(answers[5:]) == {429}  # slowed down after five
    assert "Retry-After" in sign_in(attacker, "admin", "one more guess").headers
    assert sign_in(from_address(web, "198.51.100.7"), "admin").status_code == 303


def test_the_wait_doubles_and_then_lets_the_person_try_again(web: Web) -> None:
    client = from_address(web, "192.0.2.10")
    for i in range(5):
        sign_in(client, "staff", f"wrong {i}")
    assert sign_in(client, "staff").status_code == 429
    advance(web, timedelta(seconds=1))
    assert sign_in(client, "staff", "wrong again").status_code == 400  # its turn came, and it was wrong
    advance(web, timedelta(seconds=1))
    assert sign_in(client, "staff").status_code == 429  # now two seconds
    advance(web, timedelta(seconds=1))
    assert sign_in(client, "staff").status_code == 303


def test_one_address_trying_many_names_is_slowed_down_too(web: Web) -> None:
    client = from_address(web, "203.0.113.99")
    answers = [sign_in(client, f"name{i}", "guess").status_code for i in range(25)]
    assert answers.count(400) == 20 and set(answers[20:]) == {429}


@pytest.fixture
def served(web: Web, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    """The real app on loopback behind uvicorn as `campaign-bot web --behind-https` runs it (127.0.0.1 is the
    proxy), with every password check counted."""
    checked: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: Any, password: Any) -> Literal[True]:
            checked.append(str(password))
            return super().verify(hash, password)

    monkeypatch.setattr(people, "_hasher", Counting(time_cost=1, memory_cost=64, parallelism=1))
    options = {**server_options("127.0.0.1", 0, True, None), "log_level": "error"}
    server = uvicorn.Server(uvicorn.Config(web.app, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", checked
    server.should_exit = True
    thread.join(10)


def _try(base: str, name: str, password: str, headers: dict[str, str] | None = None) -> int:
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login").text
        token = page.split('name="csrf" value="')[1].split('"')[0]
        return client.post("/login", data={"name": name, "password": password, "csrf": token},
                           headers=headers or {}).status_code


def test_forty_concurrent_guesses_are_checked_no_more_than_the_limit(served: tuple[str, list[str]]) -> None:
    base, checked = served
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(lambda i: _try(base, "admin", f"guess {i}"), range(40)))
    assert len(checked) <= people.PAIR_FREE
    assert answers.count(429) >= 40 - people.PAIR_FREE


def test_a_forged_x_forwarded_for_does_not_dodge_the_limit_per_address(served: tuple[str, list[str]]) -> None:
    base, _ = served
    # The proxy (127.0.0.1) appends the real address; the attacker writes whatever they like before it.
    answers = [_try(base, f"name{i}", "guess", {"X-Forwarded-For": f"10.9.8.{i}, 203.0.113.5"}) for i in range(24)]
    assert answers.count(400) == people.ADDRESS_FREE and answers[-1] == 429
    with pytest.raises(UserError):
        server_options("0.0.0.0", 8000, True, "*")  # "*" would believe the attacker's entry


def link_for(web: Web, name: str) -> tuple[str, str]:
    from tests.web_fixtures import ADMIN

    link = people.issue_password_link(web.core, ADMIN, name, "http://127.0.0.1")[1]
    path = link.removeprefix("http://127.0.0.1")
    return path, path.split("token=")[1]


def choose(client: TestClient, path: str, token: str, password: str = "the chosen password") -> Any:
    return client.post("/login/once", data={"csrf": csrf_of(client, "/login"), "token": token, "password": password,
                                            "again": password})


def test_a_link_previewer_does_not_spend_a_password_link_and_the_person_still_can(web: Web) -> None:
    path, token = link_for(web, "organiser")
    previewer = web.client()
    for _ in range(3):
        page = previewer.get(path)
        assert page.status_code == 200 and "Choose your password" in page.text
        assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    other_device = web.client("organiser")
    person = web.client()
    assert choose(person, path, token).status_code == 303 and signed_in(person)
    assert not signed_in(other_device)  # using it ends the person's other sessions
    assert previewer.get(path).status_code == 400 and choose(web.client(), path, token).status_code == 400


def test_a_password_link_expires_after_a_day(web: Web) -> None:
    path, token = link_for(web, "staff")
    advance(web, timedelta(hours=24))
    assert web.client().get(path).status_code == 400
    assert choose(web.client(), path, token).status_code == 400
    assert people.sign_in(web.core, "staff", PASSWORD).actor is not None  # the password still works


def test_only_an_admin_issues_a_password_link(web: Web) -> None:
    staff = web.client("staff")
    assert staff.post("/users/organiser/password-link", data={"csrf": csrf_of(staff, "/")}).status_code == 403
    admin = web.client("admin")
    page = admin.post("/users/organiser/password-link", data={"csrf": csrf_of(admin, "/users")})
    assert page.status_code == 200 and "/login/once?token=" in page.text
    assert page.headers["cache-control"] == "no-store" and "set-cookie" not in page.headers
