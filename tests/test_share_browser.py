"""Browser tests of the public pages: a supporter opens a campaign's share kit (Playwright + Chromium).

Screenshots go to tests/artefacts/ (not committed): look at them after a change to a page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet

from bot.supporters import service
from tests.test_web_browser import browser_page, server, shot  # noqa: F401 - the fixtures
from tests.web_fixtures import Web, web  # noqa: F401 - the fixture

__all__ = ["browser_page", "server", "web"]
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def test_a_supporter_opens_the_kit_and_shares_on_their_own_mastodon_server(browser_page: Any, web: Web) -> None:
    page = browser_page
    page.goto("/c/test")
    assert page.locator("h1").inner_text() == "Test campaign"
    cards = page.locator("article.share-card")
    assert cards.count() == 16  # es and en, on X, Mastodon, Bluesky, Threads, WhatsApp, Telegram, Facebook, LinkedIn
    x_es = page.locator("article.share-card[data-network=x][data-language=es]")
    text = x_es.locator("textarea").input_value()
    assert text.startswith("CTA uno @CancilleriaPeru Actúe ya http://127.0.0.1:")
    href = x_es.locator("a.share-intent").get_attribute("href")
    assert parse_qs(urlsplit(href).query)["text"] == [text]
    shot(page, "share-kit")

    opened: list[str] = []

    def instance(route: Any) -> None:  # stands in for the supporter's server: only its address is checked
        opened.append(route.request.url)
        route.fulfill(body="ok")

    page.context.route("https://mastodon.example/**", instance)
    mastodon_es = page.locator("article.share-card[data-network=mastodon][data-language=es]")
    mastodon_es.locator("input[name=instance]").fill("@me@Mastodon.Example")
    with page.context.expect_page() as popup:
        mastodon_es.locator("button[type=submit]").click()
    popup.value.wait_for_load_state()
    assert opened and opened[0].startswith("https://mastodon.example/share?text=")
    assert parse_qs(urlsplit(opened[0]).query)["text"] == [mastodon_es.locator("textarea").input_value()]

    page.reload()  # the server is remembered by this browser, for every language
    values = page.locator("input[name=instance]").evaluate_all("els => els.map(e => e.value)")
    assert values == ["mastodon.example", "mastodon.example"]



def test_every_share_button_hands_its_network_the_text_as_shown_or_the_counted_link(browser_page: Any,
                                                                                       web: Web) -> None:
    page = browser_page
    page.goto("/c/test")
    def card(network: str, language: str) -> Any:
        return page.locator(f"article.share-card[data-network={network}][data-language={language}]")

    for language in ("es", "en"):
        def query(network: str, language: str = language) -> dict[str, list[str]]:
            return parse_qs(urlsplit(card(network, language).locator("a.share-intent").get_attribute("href")).query)

        texts = {n: card(n, language).locator("textarea").input_value() for n in ("threads", "whatsapp", "telegram",
                                                                                  "facebook", "linkedin")}
        short = {n: next(word for word in text.split() if "/s/" in word) for n, text in texts.items()}
        assert len(set(short.values())) == 5  # a short link per network: each click counts where it came from
        assert query("threads")["text"] == [texts["threads"]] and query("whatsapp")["text"] == [texts["whatsapp"]]
        assert query("telegram")["url"] == [short["telegram"]]
        assert query("telegram")["text"] == [" ".join(texts["telegram"].replace(short["telegram"], " ").split())]
        assert query("facebook")["u"] == [short["facebook"]] and query("linkedin")["url"] == [short["linkedin"]]
        assert card("facebook", language).locator(".note").inner_text().startswith("Facebook shares the link only")
    hrefs = page.locator("a.share-intent").evaluate_all("els => els.map(e => e.href.split('?')[0])")
    assert set(hrefs) == {"https://x.com/intent/post", "https://bsky.app/intent/compose",
                          "https://www.threads.com/intent/post", "https://wa.me/", "https://t.me/share/url",
                          "https://www.facebook.com/sharer/sharer.php",
                          "https://www.linkedin.com/sharing/share-offsite/"}
    shot(page, "share-kit-every-button")

    opened: list[str] = []

    def whatsapp(route: Any) -> None:  # stands in for WhatsApp: only the address it is given is checked
        opened.append(route.request.url)
        route.fulfill(body="ok")

    page.context.route("https://wa.me/**", whatsapp)
    with page.context.expect_page() as popup:
        page.locator("article.share-card[data-network=whatsapp][data-language=en] a.share-intent").click()
    popup.value.wait_for_load_state()
    assert parse_qs(urlsplit(opened[0]).query)["text"] == [
        page.locator("article.share-card[data-network=whatsapp][data-language=en] textarea").input_value()]


def test_a_supporter_writes_to_the_minister_in_their_language_and_the_letter_is_counted(browser_page: Any,
                                                                                         web: Web) -> None:
    from bot.reach.clicks import LETTER, click_counts
    from tests.test_letters import with_letter

    with_letter(web)
    page = browser_page
    page.goto("/c/test")
    letters = page.locator("article.letter")
    assert letters.count() == 2
    es = page.locator("article.letter[data-language=es]")
    assert es.locator("header").inner_text().startswith("Write to Ministro de Relaciones Exteriores")
    assert es.locator("textarea").input_value().startswith("Señor Ministro:")
    assert es.locator("textarea").get_attribute("dir") == "ltr"
    es.scroll_into_view_if_needed()
    shot(page, "share-kit-letter")

    with page.expect_response(lambda r: "/s/" in r.url) as answer:  # the browser hands mailto: to a mail program
        es.locator(".letter-way[data-channel=email] a.write").click()
    location = answer.value.headers["location"]
    assert location.startswith("mailto:ministro@example.gob.pe?subject=")
    assert parse_qs(urlsplit(location).query)["body"][0].startswith("Señor Ministro:\r\n")

    with page.context.expect_page() as popup:  # by post: the printable letter, with the address
        es.locator(".letter-way[data-channel=post] a.write").click()
    printable = popup.value
    printable.wait_for_load_state()
    assert "Jr. Lampa 545, Lima" in printable.locator("address").inner_text()
    assert printable.locator("article.printable-letter").get_attribute("lang") == "es"
    shot(printable, "letter-printable")

    es.locator("button.copy").click()
    assert es.locator("button.copy").inner_text() in ("Copied", "Copy letter")
    with web.core.sessions() as session:
        assert click_counts(session, "test", LETTER) == {"es": {"email": 1, "post": 1}}


def test_a_supporter_connects_their_mastodon_account_through_oauth_and_manages_it(
        browser_page: Any, web: Web, mastodon_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_BOT_SECRET_KEY", Fernet.generate_key().decode())
    page = browser_page
    page.goto("/c/test")
    connect = page.locator("form.connect-mastodon")
    connect.scroll_into_view_if_needed()
    shot(page, "share-kit-connect")
    connect.locator("input[name=instance]").fill(mastodon_server.base_url)
    connect.locator("button[type=submit]").click()
    page.wait_for_url(f"{mastodon_server.base_url}/oauth/authorize?**")
    assert "code_challenge_method=S256" in page.url
    page.locator("button[value=bob]").click()  # the supporter allows campaign-bot on their own server
    page.wait_for_url("**/m/**")
    assert page.locator("h1").inner_text() == "Your connected account"
    link = page.locator("input.private-link").input_value()
    assert link == page.url.split("?")[0]
    assert page.get_by_text("bob@127.0.0.1").count() == 1
    shot(page, "supporter-connected")

    page.locator("input[name=scope][value=all]").check()
    page.locator("form.choose button[type=submit]").click()
    page.wait_for_load_state()
    assert page.get_by_text("Saved").count() == 1
    with web.core.sessions() as session:
        supporter = service.connected_supporters(session)[0]
    assert supporter.network == "mastodon" and supporter.all_campaigns

    page.locator("form.disconnect button").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Disconnected"
    shot(page, "supporter-disconnected")
    with web.core.sessions() as session:
        assert service.connected_supporters(session) == []


def test_the_kit_shows_chinese_and_persian_with_persian_right_to_left(browser_page: Any, web: Web) -> None:
    from tests.test_share_kit import world

    world(web)
    page = browser_page
    page.goto("/c/world")
    assert page.locator("section.kit-language h2").all_inner_texts() == ["中文", "فارسی"]
    fa = page.locator("article.share-card[data-network=bluesky][data-language=fa] textarea")
    assert fa.get_attribute("dir") == "rtl"
    assert "👩‍👩‍👧\nامضا کنید" in fa.input_value()
    shot(page, "share-kit-zh-fa")


def test_after_the_close_the_kit_shows_the_closing_message_and_nothing_to_post(browser_page: Any, web: Web) -> None:
    from tests import staff as lifecycle

    lifecycle.close(web.core, "test", "success", "test")
    page = browser_page
    page.goto("/c/test")
    assert page.locator("article.share-card").count() == 0 and page.locator("#amplify").count() == 0
    assert page.locator("article.letter").count() == 0
    assert page.locator("article.closing p").all_inner_texts() == [  # the browser's language (English) first
        "No further action is requested. Many thanks to all who sent appeals.",
        "Gracias: no se requieren más acciones."]
    shot(page, "share-kit-closed")
