"""Mastodon statuses read back: plain field reading, no Mastodon.py import (bot/networks/mastodon.py reads)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from bot.networks.reading import Counts, Mention

MENTION_RE = re.compile(r"(?<![\w/])(@[A-Za-z0-9_]+)@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def counts_of(status: Any) -> Counts:
    quotes = status.get("quotes_count")
    return Counts(reposts=int(status.get("reblogs_count") or 0), likes=int(status.get("favourites_count") or 0),
                  replies=int(status.get("replies_count") or 0), quotes=None if quotes is None else int(quotes))


def version_of(text: str) -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def mention_of(notification: Any, api_base_url: str) -> Mention | None:
    """A mention, reply or quote notification as a Mention; None for one without a status."""
    status, account = notification.get("status"), notification.get("account") or {}
    if not status:
        return None
    quote = status.get("quote") or {}
    quoted = quote.get("quoted_status_id") or (quote.get("quoted_status") or {}).get("id")
    if notification.get("type") == "quote" or quoted:
        kind, subject = "quote", quoted
    elif status.get("in_reply_to_id"):
        kind, subject = "reply", status.get("in_reply_to_id")
    else:
        kind, subject = "mention", None
    acct = str(account.get("acct") or "")
    if "@" not in acct:  # a local account: its domain is its profile's host
        acct = f"{acct}@{urlsplit(str(account.get('url') or api_base_url)).hostname}"
    created = status.get("created_at")
    return Mention(remote_id=str(status["id"]), kind=kind, author=f"@{acct}",
                   text=html_text(str(status.get("content") or "")).strip(),
                   url=status.get("url") or status.get("uri"), subject=str(subject) if subject else None,
                   created_at=created.astimezone(UTC) if isinstance(created, datetime) else None)


class _TextOf(HTMLParser):
    """The text of a status's HTML content as a reader sees it (links whole: their spans concatenated)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(content: str) -> str:
    parser = _TextOf()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts)


def comparable(text: str) -> str:
    """Whitespace folded, mentions without their domain (Mastodon shows @user for @user@host)."""
    return " ".join(MENTION_RE.sub(r"\1", text).split())
