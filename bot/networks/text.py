"""Text measures shared by adapters."""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> int:
    """User-perceived characters: an emoji with modifiers or a flag counts once. In ASCII every character is
    one, but for CR LF (Unicode's extended grapheme clusters, rule GB3)."""
    if text.isascii():
        return len(text) - text.count("\r\n")
    return len(_GRAPHEME.findall(text))
