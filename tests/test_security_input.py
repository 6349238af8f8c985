"""An organiser (or anyone who can type into a field) tries to break what others read: a template that burns
the CPU, control and invisible characters in posts, notes and names, fields holding only blanks, a post that
makes the public feed fail, and a network-supplied address that would run script when clicked."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner
from sqlalchemy import update

from bot.cli import cli
from bot.store.models import DeliveryRow
from tests.conftest import deliveries, write_campaign
from tests.web_fixtures import Web, csrf_of, load, token_for, web  # noqa: F401 - the fixture

__all__ = ["web"]
BURNER = "{% for i in range(1000) %}{% for j in range(9) %}{{ ('ab ' * 3000) | wordwrap(2) | length }}" \
         "{% endfor %}{% endfor %}"
CHARACTERS = ["\x0b", "\x1b[2J", "\x00", "\ufffe", "\u202e"]


def test_a_template_that_burns_the_cpu_is_stopped_within_its_budget_on_the_length_counter(web: Web) -> None:
    client = web.client("organiser")
    started = time.perf_counter()
    answer = client.get("/campaigns/test/measure", params={"text": BURNER, "language": "en"})
    assert time.perf_counter() - started < 15  # two accounts, half a second of work each, on a busy machine
    assert answer.status_code == 400 and "work to render" in answer.json()["detail"]


def test_a_template_that_burns_the_cpu_is_refused_when_queued_through_the_page_and_the_api(web: Web) -> None:
    page = web.client("organiser")
    started = time.perf_counter()
    refused = page.post("/campaigns/test/queue", data={"csrf": csrf_of(page, "/campaigns/test"), "text": BURNER,
                                                       "language": "en"})
    headers = {"Authorization": f"Bearer {token_for(web.core, 'organiser')}"}
    api = web.client().post("/api/campaigns/test/queue", json={"text": BURNER, "language": "en"}, headers=headers)
    assert time.perf_counter() - started < 30
    assert refused.status_code == 400 and "work to render" in refused.text
    assert api.status_code == 400 and api.json()["pointer"] == "/text"
    assert deliveries(web.core, kind="queued") == []


@pytest.mark.parametrize("bad", CHARACTERS, ids=repr)
def test_a_post_with_a_control_or_invisible_character_is_refused_naming_the_field(web: Web, bad: str) -> None:
    page = web.client("organiser")
    answer = page.post("/campaigns/test/queue", data={"csrf": csrf_of(page, "/campaigns/test"),
                                                      "text": f"Act now {bad} please", "language": "en"})
    assert answer.status_code == 400 and 'id="text-error"' in answer.text and "character U+" in answer.text
    headers = {"Authorization": f"Bearer {token_for(web.core, 'organiser', f'script-{ord(bad[0])}')}"}
    api = web.client().post("/api/campaigns/test/queue", json={"text": f"Act {bad}"}, headers=headers)
    assert api.status_code == 400 and api.json()["pointer"] == "/text"
    assert deliveries(web.core, kind="queued") == []


def test_a_template_cannot_make_a_control_character_either(web: Web) -> None:
    page = web.client("organiser")
    answer = page.post("/campaigns/test/queue", data={"csrf": csrf_of(page, "/campaigns/test"),
                                                      "text": "Act {{ '\\x1b' }}[2J now", "language": "en"})
    assert answer.status_code == 400 and "U+001B" in answer.text
    assert deliveries(web.core, kind="queued") == []


def test_a_reason_a_note_or_a_name_with_an_escape_sequence_is_refused(web: Web) -> None:
    staff, admin = web.client("staff"), web.client("admin")
    staff.post("/stop", data={"csrf": csrf_of(staff, "/"), "reason": "\x1b[31mall fine\x1b[0m"})
    assert "Emergency stop: nothing is posted" not in staff.get("/").text
    added = admin.post("/users", data={"csrf": csrf_of(admin, "/users"), "name": "eve\u202egnp.exe",
                                       "role": "staff", "password": "a long enough password"})
    assert added.status_code == 400 and 'id="name-error"' in added.text
    blank = admin.post("/users", data={"csrf": csrf_of(admin, "/users"), "name": "ana",
                                       "role": "staff", "password": " " * 12})
    assert blank.status_code == 400 and "only spaces" in blank.text


@pytest.mark.parametrize("field", ["title", "reference", "ask"])
@pytest.mark.parametrize("value", ['"  \\t "', '"Act\\u001bnow"'])
def test_a_campaign_field_holding_only_blanks_or_a_control_character_is_an_error_naming_it(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, field: str, value: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[accounts.a1]\nnetwork = "console"\n[accounts.a2]\nnetwork = "console"\n')
    (tmp_path / "campaigns").mkdir()
    path = write_campaign(tmp_path / "campaigns", **{field: f"{field} = {value}"})
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1 and field in result.output
    assert "only spaces" in result.output or "U+001B" in result.output


def sent_row(web: Web, text: str, url: str | None) -> None:
    """A post the organisation published, stored as it was before any check (an older version, a restore)."""
    from bot.actions import posts
    from tests.test_actions_layer import ORGANISER

    posts.queue(web.core, ORGANISER, "test", at=web.core.clock.now(), text="placeholder", account="a1",
                language="en")
    (row,) = deliveries(web.core, kind="queued")
    with web.core.sessions.begin() as s:
        s.execute(update(DeliveryRow).where(DeliveryRow.id == row.id).values(
            status="sent", text=text, remote_url=url, sent_at=web.core.clock.now() - timedelta(minutes=1)))


def test_the_public_feed_never_fails_on_a_stored_post_with_characters_xml_cannot_hold(web: Web) -> None:
    nul = "" if web.core.engine.dialect.name == "postgresql" else "\x00"  # PostgreSQL's text never holds one
    sent_row(web, f"Act {nul} now \ufffe \x0b\x1b please", "https://social.example/@org/1")
    answer = web.client().get("/c/test/feed.atom")
    assert answer.status_code == 200
    entry = feedparser.parse(answer.content).entries[0]
    assert "Act" in entry.title and "please" in entry.content[0].value


def test_a_network_supplied_address_that_is_not_http_never_becomes_a_link(web: Web) -> None:
    sent_row(web, "Our post", "javascript:alert(document.cookie)")
    staff = web.client("staff")
    for page in ("/", "/campaigns/test?all=1"):
        text = staff.get(page).text
        assert "Our post" in text and "javascript:" not in text
    assert b"javascript:" not in web.client().get("/c/test/feed.atom").content


def test_a_campaign_reloaded_after_the_check_still_loads_when_clean(web: Web, campaigns_dir: Any) -> None:
    write_campaign(campaigns_dir, title='title = "Free them\\tnow"')  # a tab is a character people type
    load(web.core)
    assert "Free them" in web.client("staff").get("/campaigns/test").text


def test_a_forged_csrf_token_or_oauth_state_with_non_ascii_characters_is_refused_not_a_server_error(web: Web) -> None:
    """Found by the scanner: comparing a str holding non-ASCII characters raised TypeError (a 500)."""
    client = web.client("organiser")
    token = csrf_of(client, "/password")
    answer = client.post("/password", data={"csrf": token + "¿'\"(", "current": "x", "password": "y", "again": "y"})
    assert answer.status_code == 403
    assert web.client().get("/connect/mastodon/callback", params={"state": "é", "code": "c"}).status_code == 400


@pytest.mark.parametrize("field", ["actor", "action", "campaign"])
def test_the_audit_logs_filters_are_values_never_sql(web: Web, field: str) -> None:
    """wapiti flagged /audit?campaign= once (the log grew under it between requests): each filter is bound."""
    staff = web.client("staff")
    staff.post("/campaigns/test/pause", data={"csrf": csrf_of(staff, "/campaigns/test"), "note": "checking"})
    assert "checking" in staff.get("/audit").text
    for payload in ("x' OR '1'='1", "x') OR ('1'='1", "x\" OR 1=1 --"):
        page = staff.get("/audit", params={field: payload})
        assert page.status_code == 200 and "checking" not in page.text
