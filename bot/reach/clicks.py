"""Share-kit clicks per campaign and network: the provider hook the report reads.

The /s/CODE redirect and its click counts come with the share links (issue 11's lane, ``click_counts``).
Until they are merged, ``share_clicks`` is ``no_share_clicks`` and every count reads 0; wiring them is one
assignment here: ``share_clicks = <their function>``, taking (connection, campaign id) and returning
{network: clicks}.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

ClickProvider = Callable[[Connection, str], dict[str, int]]


def no_share_clicks(conn: Connection, campaign_id: str) -> dict[str, int]:
    """No share-link click counts yet (the provider is not wired): zero everywhere."""
    return {}


share_clicks: ClickProvider = no_share_clicks


def clicks_for(conn: Connection, campaign_id: str) -> dict[str, int]:
    """The wired provider's counts, looked up at call time so wiring it later takes effect."""
    return share_clicks(conn, campaign_id)
