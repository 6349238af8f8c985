"""The catalogues are complete and up to date: every string the code and templates mark is in messages.pot and
in every language's messages.po, each translated (not empty, not fuzzy, not the English left as it is outside a
short list of names), keeping every placeholder. A new string without its translations fails here."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog

from bot.web import catalogues
from bot.web.i18n import catalogued, translations

LANGUAGES = [language for language, _ in catalogues.po_files()]
PLACEHOLDER = re.compile(r"\{[a-z_]+(?:![rs])?\}|%\([a-z_]+\)s")


def test_spanish_french_and_arabic_are_shipped() -> None:
    assert set(LANGUAGES) >= {"es", "fr", "ar"} and catalogued()[0] == "en"


def test_the_template_holds_exactly_the_strings_the_sources_mark() -> None:
    extracted = catalogues.msgids(catalogues.extract())
    stored = catalogues.msgids(catalogues.read(catalogues.TEMPLATE))
    assert not extracted - stored, f"new strings: run `python -m bot.web.catalogues extract` and translate them: " \
                                   f"{sorted(map(str, extracted - stored))}"
    assert not stored - extracted, f"strings no longer in the sources: {sorted(map(str, stored - extracted))}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_has_every_string_of_the_template(language: str) -> None:
    template = catalogues.msgids(catalogues.read(catalogues.TEMPLATE))
    path = catalogues.LOCALES / language / "LC_MESSAGES" / "messages.po"
    assert catalogues.msgids(catalogues.read(path, language)) == template


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated_none_fuzzy_none_left_in_english(language: str) -> None:
    path = catalogues.LOCALES / language / "LC_MESSAGES" / "messages.po"
    assert catalogues.problems(language, catalogues.read(path, language)) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_keeps_the_placeholders_of_its_english(language: str) -> None:
    path = catalogues.LOCALES / language / "LC_MESSAGES" / "messages.po"
    for message in catalogues.read(path, language):
        if message.id and isinstance(message.id, str) and isinstance(message.string, str):
            assert sorted(PLACEHOLDER.findall(message.string)) == sorted(PLACEHOLDER.findall(message.id)), \
                (language, message.id)


def test_the_check_finds_an_empty_a_fuzzy_and_an_untranslated_entry() -> None:
    catalog = Catalog(locale="es")
    catalog.add("Copy text", "")
    catalog.add("Copy letter", "Copiar la carta", flags=("fuzzy",))
    catalog.add("Subject", "Subject")
    catalog.add("Mastodon", "Mastodon")  # a name: the same in every language
    catalog.add("Letter", "Carta")
    assert catalogues.problems("es", catalog) == [
        "es: not translated: 'Copy text'",
        "es: fuzzy (check it, then remove the flag): 'Copy letter'",
        "es: the English left as it is: 'Subject'",
    ]


def test_a_catalogue_is_compiled_in_memory_once_per_language() -> None:
    assert translations("es") is translations("es")
    assert translations("es").gettext("Copy text") == "Copiar el texto"
    assert translations("es-PE").gettext("Copy text") == "Copiar el texto"  # its base language's catalogue
    assert translations("pt").gettext("Copy text") == "Copy text"  # no catalogue: English
