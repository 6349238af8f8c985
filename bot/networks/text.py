"""Text measures shared by adapters."""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> int:
    """User-perceived characters: an emoji with modifiers or a flag counts once."""
    return len(_GRAPHEME.findall(text))
