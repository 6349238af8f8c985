"""The catalogues: extract the web app's words from the code and templates (babel.cfg), keep
bot/locale/messages.pot and each bot/locale/<language>/LC_MESSAGES/messages.po up to date, and check them.

    python -m bot.web.catalogues extract          # messages.pot from the sources, and every .po updated
    python -m bot.web.catalogues init LANGUAGE    # a new language's messages.po, to translate
    python -m bot.web.catalogues check            # what a translator still has to do (exit 1 if anything)

``pybabel`` does the same with these keywords: ``pybabel extract -F babel.cfg --no-default-keywords`` followed by
a ``-k`` for each of :data:`KEYWORDS`, ``--no-location --omit-header -o bot/locale/messages.pot .``, then
``pybabel update -i bot/locale/messages.pot -d bot/locale --ignore-obsolete``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parent.parent.parent
LOCALES = REPO / "bot" / "locale"
TEMPLATE = LOCALES / "messages.pot"
KEYWORDS = (
    "_", "N_",
    # templates: gettext("..."), {% trans %}; Python: bot.web.i18n.gettext(request, "...", **params)
    "gettext:1,1t", *(f"gettext:2,{n}t" for n in range(2, 17)),
    "ngettext:1,2,2t", "ngettext:1,2,3t", *(f"ngettext:2,3,{n}t" for n in range(4, 19)),
)
ALLOWED_SAME = frozenset({"OK", "campaign-bot", "Mastodon", "Bluesky", "X", "Threads", "WhatsApp", "Telegram",
                          "Facebook", "LinkedIn", "API", "Atom", "PDS", "mastodon.social", "bsky.social",
                          "alice.bsky.social", "abcd-efgh-ijkl-mnop", "{problem}", "%(name)s", "%(network)s"})
"""A translation may equal its English only for these (names, examples, a bare placeholder)."""


def extract() -> Catalog:
    """Every message in the sources, as babel.cfg and KEYWORDS find them."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(REPO / "babel.cfg"))  # type: ignore[no-untyped-call]
    catalog = Catalog(project="campaign-bot", version="0.1", copyright_holder="the campaign-bot authors",
                      charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(REPO), method_map, options_map, keywords=parse_keywords(KEYWORDS), comment_tags=("Translators:",),
            strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def msgids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


def po_files() -> Iterator[tuple[str, Path]]:
    for path in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")):
        yield path.parent.parent.name, path


def read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=language)


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=116, no_location=True, omit_header=False, ignore_obsolete=True,
                 sort_output=True)


def update_all() -> Catalog:
    template = extract()
    write(TEMPLATE, template)
    for language, path in po_files():
        catalog = read(path, language)
        catalog.update(template, no_fuzzy_matching=True)
        write(path, catalog)
    return template


def init(language: str) -> Path:
    template = read(TEMPLATE)
    catalog = Catalog(locale=language, project="campaign-bot", charset="utf-8")
    catalog.update(template, no_fuzzy_matching=True)
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    write(path, catalog)
    return path


def problems(language: str, catalog: Catalog) -> list[str]:
    """Each entry a translator still has to do: empty, fuzzy, or the English left as it is."""
    found = []
    for m in catalog:
        if not m.id:
            continue
        strings = [m.string] if isinstance(m.string, str) else list(m.string or ())
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        if not all(strings):
            found.append(f"{language}: not translated: {ids[0]!r}")
        elif m.fuzzy:
            found.append(f"{language}: fuzzy (check it, then remove the flag): {ids[0]!r}")
        elif any(s == i for s, i in zip(strings, ids, strict=False)) and ids[0] not in ALLOWED_SAME:
            found.append(f"{language}: the English left as it is: {ids[0]!r}")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "extract":
        template = update_all()
        print(f"{TEMPLATE.relative_to(REPO)}: {len(msgids(template))} messages; updated: "
              f"{', '.join(lang for lang, _ in po_files()) or 'no language yet'}")
        return 0
    if command == "init" and len(argv) == 2:
        print(init(argv[1]).relative_to(REPO))
        return 0
    if command == "check":
        found = [p for language, path in po_files() for p in problems(language, read(path, language))]
        print("\n".join(found) or "every catalogue is complete")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
