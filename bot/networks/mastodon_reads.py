"""Mastodon statuses read back: plain field reading, no Mastodon.py import (bot/networks/mastodon.py reads)."""

from __future__ import annotations

import re
from typing import Any

from bot.networks.reading import Counts


def counts_of(status: Any) -> Counts:
    quotes = status.get("quotes_count")
    return Counts(reposts=int(status.get("reblogs_count") or 0), likes=int(status.get("favourites_count") or 0),
                  replies=int(status.get("replies_count") or 0), quotes=None if quotes is None else int(quotes))


def version_of(text: str) -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)

