"""What the web app shows of reach: the campaign page's section and the dashboard's line per campaign."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from bot.errors import NotFound
from bot.reach.chart import engagement_svg
from bot.reach.report import campaign_report, report
from bot.store.deps import Database


def campaign_reach(core: Database, campaign_id: str) -> dict[str, Any] | None:
    """The report of one campaign with its chart (Markup: drawn here from numbers and our own labels)."""
    with core.engine.connect() as conn:
        try:
            data = campaign_report(conn, campaign_id)
        except NotFound:
            return None
    return data | {"chart": Markup(engagement_svg(data["over_time"]))}  # noqa: S704 - only numbers, escaped text  # nosec B704


def dashboard_lines(core: Database) -> dict[str, dict[str, int]]:
    """Campaign id -> the figures of its one-line summary (the page words them in its language)."""
    with core.engine.connect() as conn:
        return {r["campaign"]: {**r["totals"], "answers": len(r["responses"])} for r in report(conn)}
