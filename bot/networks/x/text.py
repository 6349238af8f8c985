"""X's weighted length and validity (twitter-text v3), exactly as twitter-text's ``parse_tweet`` gives them, but
without its per-character loop and its emoji scan for a text that provably holds no emoji.

``parse_tweet`` costs about 1.3 ms for a 200-character text: it runs the emoji expression (an alternation of
every emoji sequence) over the text and weighs each character in Python. For a text whose every character lies
in ``EMOJI_FREE`` no emoji can match (every emoji twitter-text knows has a code point outside those ranges:
tests/test_fast_lengths.py checks it against twitter-text's own list), so its weight is: 1 for each character in the
light ranges, 2 for any other, 23 for each URL (found by twitter-text's own extractor), and it is valid when that
is 1-280 (none of the characters twitter-text refuses is in ``EMOJI_FREE``). Any other text goes to
``parse_tweet``. Tests: tests/test_fast_lengths.py (Hypothesis: the same answer as ``parse_tweet`` on random texts,
and twitter-text's conformance cases).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

MAX_WEIGHTED = 280
URL_WEIGHT = 23

EMOJI_FREE = re.compile(
    "[\x00-\xa8\xaa-\xad\xaf-\u200c\u200e-\u203b\u3000-\u302f\u3031-\u303c\u303e-\u3296"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3]*")
"""Text made only of these holds no emoji as twitter-text finds them: ASCII (a keycap needs U+FE0F or U+20E3),
Latin, Greek, Cyrillic, Hebrew, Arabic, the scripts of South and South-East Asia, general punctuation up to
U+203B, CJK punctuation, kana, ideographs and Hangul syllables."""

_HEAVY = re.compile("[^\x00-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
"""What twitter-text v3 weighs 2 (its light ranges are 0-4351, 8192-8205, 8208-8223 and 8242-8247)."""

_LINE_ENDING = re.compile(r"\r\n|\r|\n")


class ParsedText(NamedTuple):
    weighted_length: int
    valid: bool


def _weight(segment: str) -> int:
    return len(segment) if segment.isascii() else len(segment) + len(_HEAVY.findall(segment))


def parse(text: str) -> ParsedText:
    """twitter-text's ``parse_tweet(text, version3)``: weighted length and validity."""
    normalized = unicodedata.normalize("NFC", text)
    if "\r" in normalized:  # as parse_tweet: every line ending is one "\n"
        normalized = _LINE_ENDING.sub("\n", normalized)
    if EMOJI_FREE.fullmatch(normalized) is None:
        return _full(text)
    starts: dict[int, str] = {}
    if "." in normalized:  # twitter-text's extractor finds no URL in a text without a dot
        from twitter_text.extract_urls import extract_urls_with_indices

        starts = {u["indices"][0]: u["url"] for u in extract_urls_with_indices(normalized)}
    weighted, at = 0, 0
    for start in sorted(starts):
        if start < at:  # within a URL already counted (parse_tweet steps over it)
            continue
        weighted += _weight(normalized[at:start]) + URL_WEIGHT
        at = start + len(starts[start])
    weighted += _weight(normalized[at:])
    return ParsedText(weighted, 0 < weighted <= MAX_WEIGHTED)


def _full(text: str) -> ParsedText:
    from twitter_text import parse_tweet
    from twitter_text.config import config as twitter_config

    result = parse_tweet(text, twitter_config["version3"])
    return ParsedText(int(result.weightedLength), bool(result.valid))
