"""The pages speak the reader's language: a supporter's pick, else Accept-Language, else the campaign's first
language (English words around a campaign language with no catalogue); staff their own setting, else
Accept-Language; the API's refusals too, their code unchanged. The kit shows the case's summary and the
organisation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.actions import people
from bot.web.app import create_app
from tests.languages import ARABIC_CAMPAIGN, PORTUGUESE_CAMPAIGN, english_words, write
from tests.web_fixtures import ADMIN, WEB_CONFIG, Web, add_user, load, web  # noqa: F401 - the fixture

__all__ = ["web"]
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def lang_of(html: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)"', html)
    assert match, html[:200]
    return match.group(1), match.group(2)


def visible_words(html: str, title: str = "Test campaign") -> set[str]:
    """The words a reader sees: the page without its tags, attributes, scripts and the campaign's own texts
    (its title, in one language only, included)."""
    html = html.replace(title, " ")
    html = re.sub(r"<(script|style|textarea)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<[^>]*\blang="(?:en)"[^>]*>.*?</[a-z0-9]+>', " ", html, flags=re.S)  # English texts to share
    text = re.sub(r"<[^>]+>", " ", html)
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]{2,}", text)}


@SQLITE
def test_a_spanish_browser_reads_the_kit_in_spanish_with_its_language_first(web: Web) -> None:
    page = web.client().get("/c/test", headers={"Accept-Language": "es-PE,es;q=0.9,en;q=0.5"}).text
    assert lang_of(page) == ("es", "ltr")
    assert "Copiar el texto" in page and "Publicar en X" in page and "Copy text" not in page
    assert page.index('data-language="es"') < page.index('data-language="en"')
    english = visible_words(page) & english_words()
    assert not english, english


@SQLITE
def test_a_page_says_its_language_to_caches_and_the_feed_its_own_words(web: Web) -> None:
    answer = web.client().get("/c/test", headers={"Accept-Language": "fr, es;q=0.8"})
    assert answer.headers["content-language"] == "es" and "Accept-Language" in answer.headers["vary"]
    feed = web.client().get("/c/test/feed.atom", headers={"Accept-Language": "es"}).text
    assert "<subtitle>Lo que la organización publicó para esta campaña" in feed and 'xml:lang="es"' in feed


@SQLITE
def test_the_supporter_picks_a_language_and_it_is_remembered_in_a_cookie(web: Web) -> None:
    client = web.client()
    answer = client.get("/c/test?lang=en", headers={"Accept-Language": "es"})
    assert lang_of(answer.text)[0] == "en" and "lang=en" in answer.headers["set-cookie"]
    again = client.get("/c/test", headers={"Accept-Language": "es"})
    assert lang_of(again.text)[0] == "en" and "set-cookie" not in again.headers
    assert 'href="/c/test?lang=es" lang="es" dir="ltr" hreflang="es">Español' in again.text
    ignored = web.client().get("/c/test?lang=fr", headers={"Accept-Language": "de"})  # not a campaign language
    assert lang_of(ignored.text)[0] == "es" and "set-cookie" not in ignored.headers  # the campaign's first


@SQLITE
def test_an_arabic_supporter_reads_the_kit_right_to_left(web: Web, campaigns_dir: Path) -> None:
    write(campaigns_dir, "ar-test", ARABIC_CAMPAIGN)
    load(web.core)
    page = web.client().get("/c/ar-test", headers={"Accept-Language": "ar"}).text
    assert lang_of(page) == ("ar", "rtl")
    assert "نسخ النص" in page and "يُحرم الأطفال اللاجئون" in page
    assert '<textarea id="text-en-x" class="share-text" readonly rows="6" lang="en" dir="ltr"' in page


@SQLITE
def test_a_campaign_language_without_a_catalogue_gets_english_words_around_its_own_text(
        web: Web, campaigns_dir: Path) -> None:
    write(campaigns_dir, "pt-test", PORTUGUESE_CAMPAIGN)
    load(web.core)
    page = web.client().get("/c/pt-test", headers={"Accept-Language": "pt-BR"}).text
    assert lang_of(page) == ("en", "ltr") and "Copy text" in page
    assert page.index('data-language="pt"') < page.index('data-language="en"')  # its texts first all the same


@SQLITE
def test_the_kit_shows_the_case_summary_in_the_supporters_language(web: Web, campaigns_dir: Path) -> None:
    write(campaigns_dir, "ar-test", ARABIC_CAMPAIGN)
    load(web.core)
    english = web.client().get("/c/ar-test?lang=en").text
    assert 'class="share-text" lang="en" dir="ltr">Refugee children in Peru are denied' in english
    assert '<meta property="og:description" content="Refugee children in Peru' in english


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_kit_shows_the_organisation_and_its_logo_served_as_an_image_that_runs_nothing(
        make_app, campaigns_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import write_campaign

    write_campaign(campaigns_dir)
    (tmp_path / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    core = make_app(config_extra=WEB_CONFIG + '[organisation]\nname = "Derechos Ya"\nlogo_file = "logo.svg"\n')
    load(core)
    client = TestClient(create_app(core, secret_key="x" * 40), base_url="http://127.0.0.1")
    page = client.get("/c/test").text
    assert '<img src="/organisation/logo" alt="" class="logo" height="48"><strong>Derechos Ya</strong>' in page
    logo = client.get("/organisation/logo")
    assert logo.status_code == 200 and logo.headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in logo.headers["content-security-policy"] and "script" not in \
        logo.headers["content-security-policy"].replace("default-src 'none'", "")

    (tmp_path / "logo.svg").unlink()  # a missing file: the name alone, never a broken image
    page = client.get("/c/test").text
    assert "<strong>Derechos Ya</strong>" in page and "<img" not in page
    assert client.get("/organisation/logo").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_logo_at_an_https_address_is_allowed_by_the_pages_policy(make_app, campaigns_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import write_campaign

    write_campaign(campaigns_dir)
    core = make_app(config_extra=WEB_CONFIG + '[organisation]\nname = "Org"\n'
                                              'logo_url = "https://cdn.example.org/brand/logo.png"\n')
    load(core)
    client = TestClient(create_app(core, secret_key="x" * 40), base_url="http://127.0.0.1")
    answer = client.get("/c/test")
    assert 'src="https://cdn.example.org/brand/logo.png"' in answer.text
    assert "img-src 'self' data: https://cdn.example.org;" in answer.headers["content-security-policy"]


@SQLITE
def test_a_connect_refusal_speaks_the_campaigns_language(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", Fernet.generate_key().decode())
    answer = web.client().post("/c/test/connect/mastodon", data={"instance": "not a server"},
                               headers={"Accept-Language": "es"})
    assert answer.status_code == 400 and lang_of(answer.text)[0] == "es"
    assert "Escriba el nombre de su servidor, por ejemplo mastodon.social" in answer.text
    assert "Volver a la campaña" in answer.text


@SQLITE
def test_staff_read_their_own_language_else_their_browsers(web: Web) -> None:
    client = web.client("staff")
    assert lang_of(client.get("/", headers={"Accept-Language": "fr-CA,fr"}).text)[0] == "fr"
    people.set_language(web.core, ADMIN, "staff", "ar", ("en", "es", "fr", "ar"))
    page = client.get("/", headers={"Accept-Language": "fr"}).text
    assert lang_of(page) == ("ar", "rtl") and ">اللغة</a>" in page


@SQLITE
def test_a_person_chooses_their_language_on_the_language_page(web: Web) -> None:
    from tests.web_fixtures import csrf_of

    client = web.client("organiser")
    answer = client.post("/language", data={"csrf": csrf_of(client, "/language"), "language": "es"})
    assert answer.status_code == 303
    page = client.get("/")
    assert lang_of(page.text)[0] == "es" and "organiser ahora lee la aplicación web en Español" in page.text
    refused = client.post("/language", data={"csrf": csrf_of(client, "/language"), "language": "xx"})
    assert refused.status_code == 400 and "la aplicación web no está disponible en &#39;xx&#39;" in refused.text


@SQLITE
def test_the_apis_refusals_follow_accept_language_and_keep_their_code(web: Web) -> None:
    from tests.web_fixtures import token_for

    headers = {"Authorization": f"Bearer {token_for(web.core, 'organiser')}", "Accept-Language": "fr"}
    answer = web.client().post("/api/campaigns/nosuch/queue", json={"text": "x"}, headers=headers)
    body = answer.json()
    assert answer.status_code == 404 and body["code"] == "no_campaign"
    assert body["detail"].startswith("aucune campagne 'nosuch'")


@SQLITE
def test_users_set_language_sets_and_clears_a_persons_language(web: Web) -> None:
    from click.testing import CliRunner

    from bot.cli import cli
    from bot.queries.people import language_of

    config = str(web.core.config.path)
    result = CliRunner().invoke(cli, ["users", "set-language", "staff", "fr", "--config", config])
    assert result.exit_code == 0, result.output
    assert language_of(web.core, "staff") == "fr"
    CliRunner().invoke(cli, ["users", "set-language", "staff", "auto", "--config", config])
    assert language_of(web.core, "staff") is None
    assert CliRunner().invoke(cli, ["users", "set-language", "staff", "xx", "--config", config]).exit_code == 2
    add_user(web.core, "ana", "organiser")
    from bot.actions.base import Actor, Via
    from bot.actions.errors import Forbidden
    from bot.states import Role

    with pytest.raises(Forbidden):  # only an admin sets someone else's
        people.set_language(web.core, Actor("ana", Role.ORGANISER, Via.WEB), "staff", "es", ("en", "es"))


@SQLITE
def test_a_targets_role_may_be_written_per_language(web: Web) -> None:
    from tests.test_letters import LETTER_TABLE, TARGETS, with_letter

    with_letter(web, LETTER_TABLE, TARGETS.replace('role = "Peru\'s Ministry of Foreign Affairs"',
                                                   'role = { es = "Cancillería del Perú", en = "Foreign Ministry" }'))
    page = web.client().get("/c/test", headers={"Accept-Language": "es"}).text
    assert '<small class="muted" lang="es" dir="ltr">Cancillería del Perú</small>' in page
    assert '<small class="muted" lang="en" dir="ltr">Foreign Ministry</small>' in page
