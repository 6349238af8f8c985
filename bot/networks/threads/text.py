"""Threads' text rules, no HTTP: what `validate`, the previews and the share kit need.

- 500 characters, "emojis are counted as the number of UTF-8 bytes" (developers.facebook.com/docs/threads/posts):
  an emoji (with its modifiers and joiners) weighs its UTF-8 length, any other character 1. A link counts in
  full (no shortening is documented).
- At most 5 links: since 22 December 2025 a post with more fails with THREADS_API__LINK_LIMIT_EXCEEDED
  (documentation/threads/create-posts/text-attachments).
- One topic tag per post: without a ``topic_tag`` parameter "the first valid tag ... is treated as the tag"
  and a tag ends at '.', '&' or a space; the others stay plain text. A tag is 1-50 characters.
"""

from __future__ import annotations

import regex

MAX_LENGTH = 500
MAX_LINKS = 5
MAX_TAG = 50
_GRAPHEME = regex.compile(r"\X")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")
URL_RE = regex.compile(r"https?://[^\s<>\"]+", regex.IGNORECASE)
TAG_RE = regex.compile(r"(?<![\w#&])#([^\s.&#]+)")


def threads_length(text: str) -> int:
    total = 0
    for grapheme in _GRAPHEME.findall(text):
        total += len(grapheme.encode("utf-8")) if _EMOJI.search(grapheme) else len(grapheme)
    return total


def links(text: str) -> set[str]:
    return {u.rstrip(".,;:!?)") for u in URL_RE.findall(text)}


def tags(text: str) -> list[str]:
    """The text's hashtags, in order, as Threads reads them (a tag ends at '.', '&' or a space)."""
    return ["#" + t for t in TAG_RE.findall(URL_RE.sub(" ", text))]


def link_problem(text: str) -> str | None:
    found = len(links(text))
    if found > MAX_LINKS:
        return f"Threads refuses a post with more than {MAX_LINKS} links ({found} here)"
    return None


def tag_warning(text: str) -> str | None:
    found = tags(text)
    if len(found) > 1:
        return (f"Threads makes only the first hashtag ({found[0]}) the post's topic tag; "
                f"{', '.join(found[1:])} stay plain text: write one tag in a Threads variant (networks.threads)")
    if found and len(found[0]) - 1 > MAX_TAG:
        return f"Threads' topic tag is at most {MAX_TAG} characters: {found[0]} stays plain text"
    return None
