"""Which languages the pages speak: English and each language with a catalogue in bot/locale. Apart from
bot/web/i18n.py (which loads Babel, Jinja and FastAPI) so that the CLI can offer them at every start."""

from __future__ import annotations

from pathlib import Path

LOCALES = Path(__file__).resolve().parent.parent / "locale"
SOURCE = "en"


def catalogued() -> tuple[str, ...]:
    """The languages pages can speak: English and each language with a catalogue (read once per process)."""
    found = sorted(p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/messages.po"))
    return (SOURCE, *found)
