"""Bluesky notifications turned into Mentions: plain field reading, no atproto import (bot/networks/bluesky.py
reads them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.networks.reading import Counts, Mention, MentionsPage

POSTS_PER_REQUEST = 25  # app.bsky.feed.getPosts: uris maxLength 25
MENTION_PAGES = 5


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


def read_counts(client: Any, refs: list[str]) -> dict[str, Counts]:
    out: dict[str, Counts] = {}
    for i in range(0, len(refs), POSTS_PER_REQUEST):
        found = client.app.bsky.feed.get_posts(params={"uris": refs[i:i + POSTS_PER_REQUEST]})
        for post in found.posts:
            out[str(post.uri)] = Counts(reposts=post.repost_count or 0, likes=post.like_count or 0,
                                        replies=post.reply_count or 0, quotes=post.quote_count or 0)
    return out


def read_mentions(client: Any, cursor: str | None) -> MentionsPage:
    found: list[Any] = []
    page_cursor: str | None = None
    for _ in range(MENTION_PAGES):
        params: dict[str, Any] = {"limit": 50, **({"cursor": page_cursor} if page_cursor else {})}
        page = client.app.bsky.notification.list_notifications(params=params)
        fresh = [n for n in page.notifications if cursor is None or str(n.indexed_at) > cursor]
        found.extend(fresh)
        page_cursor = page.cursor
        if cursor is None or len(fresh) < len(page.notifications) or not page_cursor:
            break
    found.sort(key=lambda n: str(n.indexed_at))
    mentions = [mention_of(n) for n in found if n.reason in ("reply", "mention", "quote")]
    return MentionsPage(mentions, str(found[-1].indexed_at) if found else None)


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

