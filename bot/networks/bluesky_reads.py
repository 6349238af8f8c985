"""Bluesky notifications turned into Mentions: plain field reading, no atproto import (bot/networks/bluesky.py
reads them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.networks.reading import Mention


def mention_of(notification: Any) -> Mention:
    record = notification.record
    subject: str | None = None
    if notification.reason == "reply":
        subject = _path(record, "reply", "parent", "uri")
    elif notification.reason == "quote":
        subject = _path(record, "embed", "record", "uri") or _path(record, "embed", "record", "record", "uri")
    handle = str(notification.author.handle)
    rkey = str(notification.uri).rsplit("/", 1)[-1]
    created = _path(record, "created_at")
    return Mention(remote_id=str(notification.uri), kind=str(notification.reason), author=f"@{handle}",
                   text=str(_path(record, "text") or ""), url=f"https://bsky.app/profile/{handle}/post/{rkey}",
                   subject=subject, created_at=_parse_time(created))


def _path(obj: Any, *names: str) -> Any:
    """A field deep in a record, which atproto gives as a model or, for an unknown type, as a dict."""
    for name in names:
        if obj is None:
            return None
        obj = obj.get(name, obj.get(_camel(name))) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC) if value else None
    except ValueError:
        return None

