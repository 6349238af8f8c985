"""The staff app in another language, in Chromium (issue 21): a Spanish staff member's dashboard and campaign
page say every word of their own in Spanish (headings, menus, buttons, labels, badges), with no raw ISO time;
an Arabic one reads them right to left, and nothing overflows a 390 px phone. Screenshots go to
tests/artefacts/staff-*-{es,ar}*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.clock import FakeClock
from tests.languages import english_words
from tests.test_languages_browser import browser, open_page  # noqa: F401 - the fixture
from tests.test_staff_day_browser import a_bad_day, fits, no_raw_times
from tests.test_web_browser import ARTEFACTS, server  # noqa: F401 - the fixture
from tests.web_fixtures import PASSWORD, Web, web  # noqa: F401 - the fixture

__all__ = ["browser", "server", "web"]
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CHROME = """() => {
  // The page's own words: menus, headings, buttons, labels, table heads, badges and the settle choices, leaving
  // out what people wrote (campaign texts, errors the networks sent, names) and anything marked another language.
  const page = document.documentElement.lang;
  const out = [];
  document.querySelectorAll(
    'nav a, nav button, h1, h2, h3, th, button, label, summary, .badge, legend, #worker, .reach-line').forEach(el => {
      const marked = el.closest('[lang]');
      if (marked && marked.lang !== page) return;
      if (!el.getClientRects().length) return;
      out.push(el.innerText);
    });
  return out.join(' ');
}"""
# What the pages show that is data, not words of the page: account, campaign, user and network names of the
# fixture; and the words Spanish writes as English does.
DATA = {"test", "staff", "admin", "organiser", "campaign", "console"}
SHARED = {"es": {"error", "kit"}, "ar": set()}
CODE = re.compile(r"\{\{[^}]*\}\}|YYYY-MM-DD HH:MM")
"""A template's fields ({{ ask }}) and the format a time is typed in are the same in every language."""


def english_left(page: Any, language: str) -> set[str]:
    text = CODE.sub(" ", page.evaluate(CHROME))
    words = {w.lower() for w in re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)*", text) if len(w) > 2}
    return (words & english_words()) - DATA - SHARED[language]


def signed_in(browser: Any, locale: str, width: int = 1200) -> Any:
    page = open_page(browser, locale, width)
    page.goto("/login")
    page.locator("#name").fill("staff")
    page.locator("#password").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/")
    return page


def test_a_spanish_staff_member_reads_the_dashboard_and_the_campaign_page_in_spanish(
        web: Web, browser: Any, clock: FakeClock) -> None:
    a_bad_day(web, clock)  # something in every section: missed and failed posts, a timeline
    page = signed_in(browser, "es-PE")
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.get_by_role("heading", name="Requiere atención").is_visible()
    assert english_left(page, "es") == set()
    no_raw_times(page)
    page.screenshot(path=str(ARTEFACTS / "staff-dashboard-es.png"), full_page=True)
    page.goto("/campaigns/test")
    assert english_left(page, "es") == set()
    no_raw_times(page)
    page.screenshot(path=str(ARTEFACTS / "staff-campaign-es.png"), full_page=True)


def test_an_arabic_staff_member_reads_right_to_left_and_nothing_overflows_a_phone(
        web: Web, browser: Any, clock: FakeClock) -> None:
    a_bad_day(web, clock)
    page = signed_in(browser, "ar", width=390)
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert english_left(page, "ar") == set()
    assert fits(page)
    page.screenshot(path=str(ARTEFACTS / "staff-dashboard-ar-phone.png"), full_page=True)
    page.goto("/campaigns/test")
    assert english_left(page, "ar") == set()
    assert fits(page)
    page.screenshot(path=str(ARTEFACTS / "staff-campaign-ar-phone.png"), full_page=True)
