"""The share kit's letter to the target: the campaign's ``[letter]`` in the supporter's language, and the ways to
send it (an e-mail, the target's web form, the post). Each "write" is a counting short link (/s/CODE, kind
letter): the redirect counts the letter by how it is sent, and nothing about the person, then goes on to a
``mailto:`` filled with the subject and the text, to the form, or to the printable letter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.orm import Session

from bot.campaigns.letters import LetterText, Recipient, recipient, render_letter
from bot.campaigns.loader import LoadedCampaign
from bot.campaigns.templates import TemplateError
from bot.reach.clicks import LETTER
from bot.reach.links import ensure_code

EMAIL, FORM, POST = "email", "form", "post"


@dataclass
class LetterWay:
    channel: str
    """email, form or post: the source the letter is counted under."""
    href: str
    """The counting short link."""
    detail: str
    """The e-mail address, the form's address or the postal address, shown beside the button."""


@dataclass
class LetterKit:
    to: str
    role: str
    subject: str = ""
    body: str = ""
    ways: list[LetterWay] = field(default_factory=list)
    problem: str | None = None


def written(campaign: LoadedCampaign, language: str, now: datetime) -> tuple[Recipient, LetterText] | None:
    """The letter's recipient and text in ``language``; None when the campaign has none it can send."""
    to = recipient(campaign.model, campaign.targets, language)
    if to is None:
        return None
    try:
        return to, render_letter(campaign.model, campaign.targets, language, now)
    except TemplateError:
        return None


def letter_kit(session: Session, campaign: LoadedCampaign, language: str, base_url: str,
               now: datetime) -> LetterKit | None:
    found = written(campaign, language, now)
    if found is None:
        return None
    to, text = found
    kit = LetterKit(to=to.name, role=to.role, subject=text.subject, body=text.body)
    contact = to.contact
    for channel, detail in ((EMAIL, contact.email), (FORM, contact.form), (POST, contact.postal)):
        if detail:
            code = ensure_code(session, campaign.id, language, channel, LETTER)
            kit.ways.append(LetterWay(channel, f"{base_url}/s/{code}", detail))
    return kit


def mailto(address: str, subject: str, body: str) -> str:
    """RFC 6068: the address, then subject and body percent-encoded, line breaks as CRLF."""
    crlf = "\r\n".join(body.splitlines())
    return f"mailto:{quote(address, safe='@')}?subject={quote(subject, safe='')}&body={quote(crlf, safe='')}"


def destination(campaign: LoadedCampaign, language: str, channel: str, base_url: str, now: datetime) -> str | None:
    """Where a letter's "write" goes on to; None when the campaign has no letter to send there now."""
    found = written(campaign, language, now)
    if found is None:
        return None
    to, text = found
    if channel == EMAIL and to.contact.email:
        return mailto(to.contact.email, text.subject, text.body)
    if channel == FORM and to.contact.form:
        return to.contact.form
    if channel == POST and to.contact.postal:
        return f"{base_url}/c/{campaign.id}/letter/{quote(language)}"
    return None
