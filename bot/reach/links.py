"""The share kit's short links (/s/CODE) and their click counts.

A code stands for (campaign, language, network) and is derived from them, so every web process makes the same
code without asking the others. A click adds one to that day's count and stores nothing about the person: no
address, no user agent, no cookie. The redirect goes to the campaign's link with ``?source=<network>``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import ForeignKey, String, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.reach.clicks import ShareClickRow
from bot.store.models import Base

SOURCE_PARAM = "source"
"""The query parameter the redirect adds to the campaign's link, so its site can tell the kit's visitors."""


class ShareLinkRow(Base):
    __tablename__ = "share_links"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    language: Mapped[str] = mapped_column(String(20))
    network: Mapped[str] = mapped_column(String(40))


def share_code(campaign_id: str, language: str, network: str) -> str:
    digest = hashlib.sha256(f"{campaign_id}\x00{language}\x00{network}".encode()).digest()
    return base64.b32encode(digest).decode()[:10].lower()


def ensure_code(session: Session, campaign_id: str, language: str, network: str) -> str:
    """The code for a (campaign, language, network), stored the first time the kit shows it."""
    code = share_code(campaign_id, language, network)
    if session.get(ShareLinkRow, code) is None:
        try:
            with session.begin_nested():
                session.add(ShareLinkRow(code=code, campaign_id=campaign_id, language=language, network=network))
        except IntegrityError:  # another process stored it first: the same row
            pass
    return code


def with_source(link: str, network: str) -> str:
    """The campaign's link with ``source=<network>`` (replacing any source it had)."""
    parts = urlsplit(link)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != SOURCE_PARAM]
    query.append((SOURCE_PARAM, network))
    return urlunsplit(parts._replace(query=urlencode(query)))


def count_click(session: Session, code: str, day: date) -> ShareLinkRow | None:
    """Add one to the day's count for the code's campaign, language and network; None for an unknown code."""
    link = session.get(ShareLinkRow, code)
    if link is None:
        return None
    key = (ShareClickRow.campaign_id == link.campaign_id, ShareClickRow.language == link.language,
           ShareClickRow.network == link.network, ShareClickRow.day == day)
    bump = update(ShareClickRow).where(*key).values(clicks=ShareClickRow.clicks + 1)
    if session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(ShareClickRow(campaign_id=link.campaign_id, language=link.language,
                                          network=link.network, day=day, clicks=1))
        except IntegrityError:  # the first click of the day, twice at once: count this one on the other's row
            session.execute(bump)
    return link


