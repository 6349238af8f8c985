"""Letters to the target from the share kit, and the kit's UTM parameters: a letter in each language, written by
e-mail, on the target's form or by post through the counting redirect, counted by how it is sent and nothing
else; none after the close."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import anyio
import pytest
from click.testing import CliRunner

from bot.campaigns.letters import render_letter
from bot.campaigns.validate import load_campaigns
from bot.cli import cli
from bot.config.settings import ShareSettings
from bot.queries.kit import build_kit, loaded_campaign
from bot.reach.clicks import LETTER, click_counts
from bot.reach.report import campaign_report, rows
from tests import staff as lifecycle
from tests.conftest import write_campaign
from tests.web_fixtures import Web, load, web  # noqa: F401 - the fixture

__all__ = ["web"]
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
BASE = "http://127.0.0.1"
TARGETS = """
[cancilleria-peru]
name = { es = "Ministro de Relaciones Exteriores", en = "Minister of Foreign Affairs" }
role = "Peru's Ministry of Foreign Affairs"
x = "@CancilleriaPeru"
email = "ministro@example.gob.pe"
postal = "Jr. Lampa 545, Lima"
form = "https://www.example.gob.pe/contacto?tema=ua"
"""
LETTER_TABLE = textwrap.dedent("""\
    [letter]
    subject = { es = "Asunto: {{ ask }}", en = "About: {{ ask }} & more" }
    text.es = "Señor Ministro:\\n\\n{{ ask }}, por favor.\\n\\nAtentamente,"
    text.en = "Dear {{ targets[0].name }},\\n\\nPlease {{ ask | lower }} (50% + #1?).\\n\\nYours sincerely,"
    """)


def with_letter(web: Web, extra: str = LETTER_TABLE, targets: str = TARGETS) -> None:
    (web.core.config.campaigns_dir / "targets.toml").write_text(targets, encoding="utf-8")
    write_campaign(web.core.config.campaigns_dir, extra=extra)
    load(web.core)


def asgi_get(web: Web, path: str) -> tuple[int, dict[str, str]]:
    """A GET straight to the app: httpx (under TestClient) cannot read a redirect to a mailto: address, which a
    browser hands to the supporter's mail program."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"Supporter/1.0")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    app: Any = web.app
    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}


def letter_of(web: Web, language: str):
    return next(lang.letter for lang in build_kit(web.core, "test", BASE).languages if lang.language == language)


def rendered(web: Web, language: str):
    with web.core.sessions() as session:
        _row, campaign = loaded_campaign(session, "test")
    return render_letter(campaign.model, campaign.targets, language, web.core.clock.now())


@SQLITE
def test_the_kit_offers_a_letter_in_each_language_and_each_way_to_send_it_counts_it_by_that_way(web: Web) -> None:
    with_letter(web)
    client = web.client()
    page = client.get("/c/test").text
    assert 'Write to <span lang="es" dir="ltr">Ministro de Relaciones Exteriores' in page
    assert 'Write to <span lang="en" dir="ltr">Minister of Foreign Affairs' in page
    en = letter_of(web, "en")
    assert en is not None and en.body == rendered(web, "en").body
    assert en.body.startswith("Dear Minister of Foreign Affairs,\n\nPlease act now (50% + #1?).")
    assert [w.channel for w in en.ways] == ["email", "form", "post"]

    ways = {w.channel: urlsplit(w.href).path for w in en.ways}
    status, headers = asgi_get(web, ways["email"])
    assert status == 302 and "set-cookie" not in headers
    mail = urlsplit(headers["location"])
    assert mail.scheme == "mailto" and unquote(mail.path) == "ministro@example.gob.pe"
    fields = parse_qs(mail.query, strict_parsing=True)
    assert fields["subject"] == ["About: Act now & more"]
    assert fields["body"] == [en.body.replace("\n", "\r\n")]  # RFC 6068: line breaks as CRLF
    assert client.get(ways["form"]).headers["location"] == "https://www.example.gob.pe/contacto?tema=ua"
    printable = client.get(ways["post"])
    assert printable.headers["location"] == f"{BASE}/c/test/letter/en"
    letter_page = client.get("/c/test/letter/en").text
    assert "Jr. Lampa 545, Lima" in letter_page and "Please act now (50% + #1?)." in letter_page
    es = letter_of(web, "es")
    assert es is not None and asgi_get(web, urlsplit(es.ways[0].href).path)[0] == 302
    with web.core.sessions() as session:
        assert click_counts(session, "test", LETTER) == {"en": {"email": 1, "form": 1, "post": 1}, "es": {"email": 1}}
        assert click_counts(session, "test") == {}  # letters are not share clicks
    with web.core.engine.connect() as conn:
        report = campaign_report(conn, "test")
    assert report["letters"] == {"email": 2, "form": 1, "post": 1} and report["totals"]["letters"] == 4
    assert {"level": "letter", "network": "email", "letters": 2}.items() <= next(
        r for r in rows([report]) if r["level"] == "letter").items()
    text = CliRunner().invoke(cli, ["report", "test"])  # the config in the current folder, as the app's
    assert text.exit_code == 0 and "letters to the target: 4 (2 by email, 1 by form, 1 by post)" in text.stdout


@SQLITE
def test_after_the_close_there_is_no_letter_only_the_thanks_and_a_write_link_is_not_counted(web: Web) -> None:
    with_letter(web)
    href = urlsplit(letter_of(web, "en").ways[0].href).path
    lifecycle.close(web.core, "test", "success", "test")
    client = web.client()
    page = client.get("/c/test").text
    assert "Write to" not in page and "Many thanks to all who sent appeals." in page
    assert all(lang.letter is None for lang in build_kit(web.core, "test", BASE).languages)
    answer = client.get(href)
    assert answer.status_code == 302 and answer.headers["location"] == "/c/test"
    assert client.get("/c/test/letter/en").headers["location"] == "/c/test"
    with web.core.sessions() as session:
        assert click_counts(session, "test", LETTER) == {}


@SQLITE
def test_the_campaigns_letter_fields_override_the_targets_contact(web: Web) -> None:
    with_letter(web, extra=LETTER_TABLE + 'email = "campaign@example.org"\n',
                targets='[cancilleria-peru]\nname = "Ministerio"\npostal = "Lima"\n')
    letter = letter_of(web, "es")
    assert letter is not None and [(w.channel, w.detail) for w in letter.ways] == [
        ("email", "campaign@example.org"), ("post", "Lima")]


@pytest.mark.parametrize(("extra", "targets", "message"), [
    (LETTER_TABLE, '[cancilleria-peru]\nname = "Ministerio"\n', "the letter has nowhere to go"),
    (LETTER_TABLE + 'to = "someone-else"\n', TARGETS, "'someone-else' is not one of the campaign's targets"),
    (LETTER_TABLE.replace("{{ ask }}, por favor", "{{ akc }}, por favor"), TARGETS, "(es) template uses an unknown"),
    (LETTER_TABLE + 'email = "not an address"\n', TARGETS, "letter.email: an e-mail address looks like"),
    (LETTER_TABLE.replace("subject = {", "subjet = {"), TARGETS, "unknown field 'subjet' (did you mean 'subject'?)"),
])
def test_validate_says_what_keeps_a_letter_from_being_sent(config_for_letters, campaigns_dir, extra, targets,
                                                           message) -> None:
    (campaigns_dir / "targets.toml").write_text(targets, encoding="utf-8")
    write_campaign(campaigns_dir, extra=extra)
    result = load_campaigns(config_for_letters, datetime(2026, 11, 30, 13, tzinfo=UTC))
    found = [issue for issue in result.issues if message in str(issue)]
    assert found, [str(i) for i in result.issues]
    if "nowhere to go" in message:  # the campaign still posts; its kit offers no letter
        assert found[0].severity == "warning" and "test" in result.campaigns
    else:
        assert found[0].severity == "error"


@pytest.fixture
def config_for_letters(tmp_path, campaigns_dir):
    from bot.config.settings import load_config

    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\ncampaigns_dir = "{campaigns_dir}"\n[accounts.a1]\nnetwork = "console"\n'
                    '[accounts.a2]\nnetwork = "console"\n', encoding="utf-8")
    return load_config(path)


@SQLITE
def test_share_links_carry_the_organisations_utm_parameters_when_it_asks_for_them(web: Web) -> None:
    kit = build_kit(web.core, "test", BASE)
    by_network = {t.network: urlsplit(next(w for w in t.text.split() if "/s/" in w)).path
                  for t in kit.languages[1].texts if "/s/" in t.text}
    client = web.client()
    assert client.get(by_network["x"]).headers["location"] == "https://example.org/ua?source=x"
    web.core.config.share = ShareSettings(utm=True, utm_medium="social-share", utm_source={"x": "twitter"})
    assert client.get(by_network["x"]).headers["location"] == (
        "https://example.org/ua?source=x&utm_source=twitter&utm_medium=social-share&utm_campaign=test")
    assert client.get(by_network["whatsapp"]).headers["location"] == (
        "https://example.org/ua?source=whatsapp&utm_source=whatsapp&utm_medium=social-share&utm_campaign=test")
