"""Threads answers read back: plain field reading, no HTTP (bot/networks/threads/adapter.py asks).

Shapes from developers.facebook.com/docs/threads: lists are ``{"data": [...], "paging": {...}}``; insights
``{"data": [{"name": "likes", "period": "lifetime", "values": [{"value": 100}], ...}]}``; the publishing limit
``{"data": [{"quota_usage": 4, "config": {"quota_total": 250, "quota_duration": 86400}, ...}]}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.networks.graph import parse_time
from bot.networks.reading import Counts, Mention, MentionsPage

MENTION_FIELDS = "id,text,username,permalink,timestamp,replied_to,is_quote_post,quoted_post"


def comparable(text: str) -> str:
    return " ".join(text.split())


def match(listing: dict[str, Any], text: str, taken: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The listed post whose text is ``text`` (whitespace folded), newest first, that is not one of ``taken``
    (ids other deliveries already hold)."""
    wanted = comparable(text)
    for item in listing.get("data") or []:
        if isinstance(item, dict) and comparable(str(item.get("text") or "")) == wanted \
                and str(item.get("id")) not in taken:
            return item
    return None


def counts_of(insights: dict[str, Any]) -> Counts:
    values: dict[str, int] = {}
    for metric in insights.get("data") or []:
        points = metric.get("values") or [{}]
        values[str(metric.get("name"))] = int(points[-1].get("value") or 0)
        if "total_value" in metric:
            values[str(metric.get("name"))] = int((metric.get("total_value") or {}).get("value") or 0)
    return Counts(reposts=values.get("reposts", 0), likes=values.get("likes", 0), replies=values.get("replies", 0),
                  quotes=values.get("quotes"))


def _limits(usage: dict[str, Any]) -> dict[str, Any]:
    data = usage.get("data") or [{}]
    return data[0] if isinstance(data[0], dict) else {}


def quota(usage: dict[str, Any]) -> dict[str, Any]:
    """For `accounts check`: posts and replies used of the 24-hour quotas."""
    limits = _limits(usage)
    out = {}
    if "quota_usage" in limits:
        out["posts_24h"] = f"{limits['quota_usage']}/{(limits.get('config') or {}).get('quota_total', '?')}"
    if "reply_quota_usage" in limits:
        total = (limits.get("reply_config") or {}).get("quota_total", "?")
        out["replies_24h"] = f"{limits['reply_quota_usage']}/{total}"
    return out


def over_quota(usage: dict[str, Any]) -> bool:
    limits = _limits(usage)
    for used, config in (("quota_usage", "config"), ("reply_quota_usage", "reply_config")):
        total = (limits.get(config) or {}).get("quota_total")
        if total is not None and int(limits.get(used) or 0) >= int(total):
            return True
    return False


def mentions_of(listing: dict[str, Any], cursor: str | None) -> MentionsPage:
    """Mentions oldest first, and the newest time seen (a Unix time) as the next cursor."""
    found = []
    newest = int(cursor) if cursor else 0
    for item in listing.get("data") or []:
        created = parse_time(item.get("timestamp"))
        replied = (item.get("replied_to") or {}).get("id")
        quoted = (item.get("quoted_post") or {}).get("id")
        kind = "reply" if replied else "quote" if item.get("is_quote_post") or quoted else "mention"
        found.append(Mention(remote_id=str(item["id"]), kind=kind, author=f"@{item.get('username') or ''}",
                             text=str(item.get("text") or ""), url=item.get("permalink"),
                             subject=str(replied or quoted) if (replied or quoted) else None, created_at=created))
        if created is not None:
            newest = max(newest, int(created.timestamp()))
    found.sort(key=lambda m: m.created_at or datetime.min.replace(tzinfo=UTC))
    return MentionsPage(found, str(newest) if newest else None)
