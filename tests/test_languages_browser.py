"""Browser tests of the kit in other languages (Playwright + Chromium): a Spanish supporter (by their browser's
language, and by the switch) reads every word of the page in Spanish; an Arabic supporter reads it right to
left, mirrored, and nothing overflows a 390 px phone. Screenshots go to tests/artefacts/languages-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config.settings import OrganisationSettings
from tests.languages import ARABIC_CAMPAIGN, english_words, write
from tests.test_letters import LETTER_TABLE, TARGETS, with_letter
from tests.test_web_browser import ARTEFACTS, server  # noqa: F401 - the fixture
from tests.web_fixtures import Web, load, web  # noqa: F401 - the fixture

__all__ = ["server", "web"]
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

SUMMARY = ('summary = { es = "A la niñez refugiada en el Perú se le niega la Calidad Migratoria Humanitaria que sí '
           'reciben las personas adultas.", en = "Refugee children in Peru are denied the status adults receive." }\n')
LOGO = ('<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" viewBox="0 0 48 48">'
        '<rect width="48" height="48" rx="8" fill="#ffdd00"/><path d="M14 34 L24 10 L34 34 Z" fill="#111"/></svg>')
PAGE_WORDS = """() => {
  // The words the page itself says: visible text and the labels a reader meets (placeholders, names of fields),
  // leaving out the campaign's own texts (marked with their language) and its title.
  const page = document.documentElement.lang;
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('script, style, textarea, h1')) continue;
    const marked = el.closest('[lang]');
    if (marked && marked.lang !== page) continue;
    if (!el.getClientRects().length) continue;
    out.push(node.textContent);
  }
  document.body.querySelectorAll('[placeholder], [aria-label], [title], img[alt]').forEach(el => {
    const marked = el.closest('[lang]');
    if (marked && marked.lang !== page) return;
    ['placeholder', 'aria-label', 'title', 'alt'].forEach(a => out.push(el.getAttribute(a) || ''));
  });
  return out.join(' ');
}"""
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@pytest.fixture
def browser(server: str, chromium: Any) -> Iterator[Any]:
    """The session's Chromium, the server, and the contexts this test opened (closed after it)."""
    ARTEFACTS.mkdir(exist_ok=True)
    opened: list[Any] = []
    yield chromium, server, opened
    for context in opened:
        context.close()


def open_page(browser: Any, locale: str, width: int = 1200) -> Any:
    chromium, base, opened = browser
    context = chromium.new_context(base_url=base, locale=locale, viewport={"width": width, "height": 900})
    opened.append(context)
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTEFACTS / f"languages-{name}.png"), full_page=True)


def with_organisation(web: Web, tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_text(LOGO, encoding="utf-8")
    web.core.config.organisation = OrganisationSettings(name="Amnistía Internacional", logo_file=str(
        tmp_path / "logo.svg"))


def english_on(page: Any) -> set[str]:
    said = page.evaluate(PAGE_WORDS)
    assert not ISO_TIME.search(said), said
    return {w.lower() for w in re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)*", said)} & english_words()


def test_a_spanish_supporter_reads_the_whole_kit_in_spanish(browser: Any, web: Web, tmp_path: Path) -> None:
    with_letter(web, extra=SUMMARY + LETTER_TABLE, targets=TARGETS)
    with_organisation(web, tmp_path)
    page = open_page(browser, "es-PE")
    page.goto("/c/test")
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.locator("section.kit-language").first.get_attribute("data-language") == "es"
    assert page.locator(".summary").inner_text().startswith("A la niñez refugiada")
    assert page.locator(".organisation img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert not english_on(page), english_on(page)
    shot(page, "kit-es")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "kit-es-phone")


def test_the_language_switch_turns_the_kit_spanish_and_the_browser_remembers(browser: Any, web: Web) -> None:
    page = open_page(browser, "en-US")
    page.goto("/c/test")
    assert page.evaluate("document.documentElement.lang") == "en" and page.get_by_text("Copy text").count() == 16
    page.locator(".language-switch").get_by_role("link", name="Español").click()
    page.wait_for_url("**/c/test?lang=es")
    assert page.evaluate("document.documentElement.lang") == "es"
    assert not english_on(page), english_on(page)
    page.goto("/c/test")  # the pick outlasts the link
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.locator(".language-switch [aria-current]").inner_text() == "Español"


def test_an_arabic_supporter_reads_the_kit_right_to_left_on_a_phone(browser: Any, web: Web, tmp_path: Path,
                                                                     campaigns_dir: Path) -> None:
    write(campaigns_dir, "ar-test", ARABIC_CAMPAIGN)
    load(web.core)
    with_organisation(web, tmp_path)
    web.core.config.organisation = OrganisationSettings(name="منظمة العفو الدولية",
                                                        logo_file=web.core.config.organisation.logo_file)
    page = open_page(browser, "ar")
    page.goto("/c/ar-test")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert not english_on(page), english_on(page)
    shot(page, "kit-ar")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # Mirrored: headings and the network's name start on the right; an English text inside stays left to right.
    h1 = page.locator("h1").bounding_box()
    assert h1 is not None and h1["x"] + h1["width"] > 390 - 40
    card = page.locator("article.share-card[data-network=x][data-language=ar]")
    name, box = card.locator("header strong").bounding_box(), card.bounding_box()
    assert name is not None and box is not None and name["x"] > box["x"] + box["width"] / 2
    english = page.locator("article.share-card[data-network=x][data-language=en] textarea")
    assert english.evaluate("e => getComputedStyle(e).direction") == "ltr"
    overflowing = page.evaluate("""() => [...document.querySelectorAll('main *')].filter(e => {
        const r = e.getBoundingClientRect(); return r.width && (r.left < -1 || r.right > window.innerWidth + 1);
    }).map(e => e.tagName + '.' + e.className)""")
    assert overflowing == []
    shot(page, "kit-ar-phone")
