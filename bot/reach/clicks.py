"""Share-kit clicks: the counts the /s/CODE redirect (bot/web/public.py) keeps, and their reads for the report.

One row per campaign, kind (a share, or a letter), language, network (for a letter: email, form or post) and UTC
day holding a count, and nothing about the person.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, Date, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.store.models import Base

SHARE, LETTER = "share", "letter"
"""What a short link stands for: a share button, or a letter's "write"."""


class ShareClickRow(Base):
    """One count per campaign, kind, language, network and (UTC) day: nothing else."""

    __tablename__ = "share_clicks"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True, default=SHARE, server_default=SHARE)
    language: Mapped[str] = mapped_column(String(20), primary_key=True)
    network: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    clicks: Mapped[int] = mapped_column(Integer)


def click_counts(conn: Connection | Session, campaign_id: str, kind: str = SHARE) -> dict[str, dict[str, int]]:
    """Share-kit clicks (or letters) of a campaign, all days together: {language: {network: clicks}}."""
    stmt = (select(ShareClickRow.language, ShareClickRow.network, func.sum(ShareClickRow.clicks))
            .where(ShareClickRow.campaign_id == campaign_id, ShareClickRow.kind == kind)
            .group_by(ShareClickRow.language, ShareClickRow.network)
            .order_by(ShareClickRow.language, ShareClickRow.network))
    out: dict[str, dict[str, int]] = {}
    for language, network, total in conn.execute(stmt):
        out.setdefault(language, {})[network] = int(total)
    return out


def clicks_for(conn: Connection, campaign_id: str, kind: str = SHARE) -> dict[str, int]:
    """Share-kit clicks (or letters) of a campaign per source, every language and day together (the report's)."""
    out: dict[str, int] = {}
    for per_network in click_counts(conn, campaign_id, kind).values():
        for network, clicks in per_network.items():
            out[network] = out.get(network, 0) + clicks
    return out
