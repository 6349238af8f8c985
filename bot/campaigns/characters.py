"""Characters no field or post may hold: they show as nothing or as something else, or break what reads them.

- control characters (C0 but tab, newline and carriage return; DEL; C1): a NUL or an escape sequence in a post,
  an audit note or a name is invisible on a page and can rewrite a terminal reading the log;
- surrogates and noncharacters (U+FFFE, U+FFFF, U+FDD0-U+FDEF...): not text; XML refuses them, so one sent post
  holding one made the Atom feed fail;
- the bidirectional embeddings and overrides (U+202A-U+202E): they make a text read differently from what it
  holds. Right-to-left text needs none of them; the isolates (U+2066-U+2069) and marks (U+200E, U+200F) stay.

``forbidden(text)`` names the first such character (``U+001B``), or None. ``xml_safe(text)`` drops the ones
XML 1.0 cannot carry, for rows stored before this check.
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
                        + "".join(f"{chr(plane * 0x10000 + 0xfffe)}{chr(plane * 0x10000 + 0xffff)}"
                                  for plane in range(1, 17)) + "]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def forbidden(text: str) -> str | None:
    match = _FORBIDDEN.search(text)
    return f"U+{ord(match.group()):04X}" if match else None


def problem(text: str) -> str | None:
    """A sentence about what is wrong with a text a person typed, or None: a forbidden character, or only
    spaces (a field holding only blanks is not filled)."""
    found = forbidden(text)
    if found:
        return f"contains the invisible or control character {found}: remove it"
    if text and not text.strip():
        return "holds only spaces: write something, or leave it out"
    return None


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)
