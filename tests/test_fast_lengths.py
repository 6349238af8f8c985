"""Lengths counted without the slow general code give exactly its answers: X's without parse_tweet's loop
(bot/networks/x/text.py), graphemes of ASCII without the grapheme expression (bot/networks/text.py)."""

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet
from twitter_text.config import config as twitter_config
from twitter_text.regexp import emoji as twitter_emoji
from twitter_text.regexp.invalid_chars_group import invalid_chars_group

from bot.networks.text import _GRAPHEME, graphemes
from bot.networks.x.text import EMOJI_FREE, ParsedText, parse
from tests.conftest import SHARED, shared


def official(text: str) -> ParsedText:
    result = parse_tweet(text, twitter_config["version3"])
    return ParsedText(result.weightedLength, result.valid)


def _free(cp: int) -> bool:
    return EMOJI_FREE.fullmatch(chr(cp)) is not None


def test_every_emoji_twitter_text_knows_has_a_character_outside_the_emoji_free_ranges():
    sequences = [[int(c, 16) for c in e.codepoint.split()] for e in twitter_emoji.emoji_list]
    sequences += [[cp] for cp in twitter_emoji.single_codepoint_emoji_int]
    assert len(sequences) > 3000
    assert all(not all(_free(cp) for cp in seq) for seq in sequences)


def test_no_character_twitter_text_refuses_is_in_the_emoji_free_ranges():
    refused = invalid_chars_group.encode().decode("unicode_escape")
    assert refused and not any(_free(ord(c)) for c in refused)


PIECES = ["a", "Z", "0", "7", " ", ".", "/", ":", "@", "#", "*", "-", "_", "?", "=", "&", "(", ")", "\n", "\r",
          "\r\n", "\t", "https://", "http://", "www.", "example.com", ".org/ua", "t.co/abc", "xn--p1ai", ".рф",
          "日本語", "请立即释放", "한국어", "ｈｅｌｌｏ", "ア", "。", "、", "〰", "〽", "㊗", "é", "e\u0301", "ñ", "ß",
          "Ω", "Привет", "שלום", "مرحبا", "नमस्ते", "ไทย", "\u2000", "\u200b", "\u200d", "\u200e", "\u2014", "\u2026",
          "\u201c", "\u2032", "\u2038", "\u203c", "\u2049", "\u2122", "©", "®", "\ufe0f", "\u20e3", "1\ufe0f\u20e3",
          "#\u20e3", "😷", "👍🏽", "👨\u200d👩\u200d👧", "🇵🇪", "\ufeff", "\ufffe", "\uffff", "\u1100\u1161",
          "\U00020000", "\U0001f600", "\u00a0", "\u3000", "\ud7a3", "\u4dbf", "\u10ff", "\u1100"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=60))
def test_the_length_and_validity_are_parse_tweets_on_random_texts(pieces):
    text = "".join(pieces)
    assert parse(text) == official(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=320), st.sampled_from(["x", "日", "é", "😷", " https://example.org/a "]))
def test_the_limit_is_parse_tweets_around_280(count, piece):
    text = piece * count
    assert parse(text) == official(text)


def test_answers_on_twitter_texts_conformance_cases_are_parse_tweets():
    shared("conformance/twitter-text/validate.yml")
    tests = yaml.safe_load((SHARED / "conformance/twitter-text/validate.yml").read_text(encoding="utf-8"))["tests"]
    texts = [case["text"] for section in ("WeightedTweetsWithDiscountedEmojiCounterTest",
                                          "UnicodeDirectionalMarkerCounterTest", "WeightedTweetsCounterTest")
             for case in tests[section]]
    texts += [case["text"] for section in ("urls", "urls_without_protocol") for case in tests.get(section, [])
              if isinstance(case.get("text"), str)]
    assert len(texts) > 40
    for text in texts:
        assert parse(text) == official(text), text


@pytest.mark.parametrize(("text", "expected"), [
    ("a https://example.org/" + "x" * 200, (2 + 23, True)),
    ("请立即释放 https://example.org/ua @Minister", (10 + 1 + 23 + 10, True)),
    ("", (0, False)),
    ("x" * 281, (281, False)),
    ("a\r\nb", (3, True)),
])
def test_plain_texts_are_counted_without_parse_tweet(text, expected):
    assert EMOJI_FREE.fullmatch(text) is not None
    assert parse(text) == expected


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)) | st.lists(st.sampled_from(["\r", "\n", "\r\n", "a", " ",
                                                                                       "\x00", "\x7f"])).map("".join))
def test_an_ascii_texts_graphemes_are_counted_as_the_grapheme_expression_counts_them(text):
    assert graphemes(text) == len(_GRAPHEME.findall(text))
