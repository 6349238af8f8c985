"""The share kit's short links (/s/CODE) and their click counts.

A code stands for (campaign, language, network) and is derived from them, so every web process makes the same
code without asking the others. A click adds one to that day's count and stores nothing about the person: no
address, no user agent, no cookie. The redirect goes to the campaign's link with ``?source=<network>`` (and
the organisation's UTM parameters, `[share]` in config.toml).

A letter's "write" is a short link too (kind ``letter``): its "network" is how the letter is sent (email, form,
post), and it counts the letter the same way.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import ForeignKey, String, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.reach.clicks import SHARE, ShareClickRow
from bot.store.models import Base

SOURCE_PARAM = "source"
"""The query parameter the redirect adds to the campaign's link, so its site can tell the kit's visitors."""


class ShareLinkRow(Base):
    __tablename__ = "share_links"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    language: Mapped[str] = mapped_column(String(20))
    network: Mapped[str] = mapped_column(String(40))
    """The network shared on; for a letter, how it is sent (email, form, post)."""
    kind: Mapped[str] = mapped_column(String(20), default=SHARE, server_default=SHARE)


def share_code(campaign_id: str, language: str, network: str, kind: str = SHARE) -> str:
    """A share link's code is what it always was (links already shared keep working); a letter's names its kind."""
    key = f"{campaign_id}\x00{language}\x00{network}" if kind == SHARE else \
        f"{campaign_id}\x00{language}\x00{kind}\x00{network}"
    return base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()[:10].lower()


def ensure_code(session: Session, campaign_id: str, language: str, network: str, kind: str = SHARE) -> str:
    """The code for a (campaign, language, network), stored the first time the kit shows it."""
    code = share_code(campaign_id, language, network, kind)
    if session.get(ShareLinkRow, code) is None:
        try:
            with session.begin_nested():
                session.add(ShareLinkRow(code=code, campaign_id=campaign_id, language=language, network=network,
                                         kind=kind))
        except IntegrityError:  # another process stored it first: the same row
            pass
    return code


def with_source(link: str, network: str, extra: list[tuple[str, str]] | None = None) -> str:
    """The campaign's link with ``source=<network>`` and the ``extra`` parameters (UTM), each replacing any
    value it had."""
    added = [(SOURCE_PARAM, network), *(extra or [])]
    names = {k for k, _ in added}
    parts = urlsplit(link)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit(parts._replace(query=urlencode(query + added)))


def count_click(session: Session, link: ShareLinkRow, day: date) -> None:
    """Add one to the day's count for the link's campaign, kind, language and network."""
    key = (ShareClickRow.campaign_id == link.campaign_id, ShareClickRow.kind == link.kind,
           ShareClickRow.language == link.language, ShareClickRow.network == link.network, ShareClickRow.day == day)
    bump = update(ShareClickRow).where(*key).values(clicks=ShareClickRow.clicks + 1)
    if session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(ShareClickRow(campaign_id=link.campaign_id, kind=link.kind, language=link.language,
                                          network=link.network, day=day, clicks=1))
        except IntegrityError:  # the first click of the day, twice at once: count this one on the other's row
            session.execute(bump)


