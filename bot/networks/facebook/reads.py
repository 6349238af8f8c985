"""Facebook Page answers read back: plain field reading, no HTTP (bot/networks/facebook/adapter.py asks).

Counts by field expansion (developers.facebook.com/docs/graph-api/reference/post, /object/reactions,
/object/comments): ``reactions.summary(total_count).limit(0)`` gives ``{"reactions": {"data": [], "summary":
{"total_count": N}}}``, ``comments`` the same, ``shares`` is ``{"count": N}`` and absent when there is none.
Times are written 2026-11-30T14:00:00+0000.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.networks.graph import parse_time
from bot.networks.reading import Counts, Mention, MentionsPage

COMMENT_COUNTS = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
POST_COUNTS = f"{COMMENT_COUNTS},shares"
COMMENTS_OF_POSTS = ("id,comments.order(reverse_chronological).limit(25)"
                     "{id,message,created_time,permalink_url,from}")


def comparable(text: str) -> str:
    return " ".join(text.split())


def match(listing: dict[str, Any], text: str, since: datetime, author: str | None = None,
          taken: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The listed post (or comment, by ``author``) with this text, made at or after ``since``, that is not one of
    ``taken`` (ids other deliveries already hold)."""
    wanted = comparable(text)
    for item in listing.get("data") or []:
        if not isinstance(item, dict) or comparable(str(item.get("message") or "")) != wanted:
            continue
        if str(item.get("id")) in taken:
            continue
        created = parse_time(item.get("created_time"))
        if created is not None and created < since:
            continue
        if author is not None and str((item.get("from") or {}).get("id") or author) != author:
            continue
        return item
    return None


def _total(node: Any) -> int:
    return int(((node or {}).get("summary") or {}).get("total_count") or 0) if isinstance(node, dict) else 0


def counts_of(node: dict[str, Any]) -> Counts:
    return Counts(reposts=int((node.get("shares") or {}).get("count") or 0), likes=_total(node.get("reactions")),
                  replies=_total(node.get("comments")), quotes=None)


def comments_of(listing: dict[str, Any], page_id: str, cursor: str | None) -> MentionsPage:
    """Comments by others on the Page's posts, newer than ``cursor`` (a Unix time), oldest first."""
    after = int(cursor) if cursor else 0
    newest = after
    found = []
    for post in listing.get("data") or []:
        for comment in ((post.get("comments") or {}).get("data") or []):
            author = comment.get("from") or {}
            created = parse_time(comment.get("created_time"))
            stamp = int(created.timestamp()) if created else 0
            if str(author.get("id")) == page_id or stamp <= after:
                continue
            newest = max(newest, stamp)
            found.append(Mention(remote_id=str(comment["id"]), kind="reply",
                                 author=f"@{author.get('username') or author.get('name') or ''}",
                                 text=str(comment.get("message") or ""), url=comment.get("permalink_url"),
                                 subject=str(post["id"]), created_at=created))
    found.sort(key=lambda m: m.created_at or datetime.min.replace(tzinfo=UTC))
    return MentionsPage(found, str(newest) if newest else None)
