"""The campaign's Atom feed (/c/<id>/feed.atom): its published posts, newest first, one entry per post and
language (the same text posted on several networks in one slot is one entry, linking to each). Once the
campaign is closed, its closing message is the newest entry, even before (or without) the organisation's
accounts posting it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from feedgen.feed import FeedGenerator
from sqlalchemy import select

from bot.campaigns.characters import xml_safe
from bot.campaigns.schema import Message
from bot.campaigns.templates import TemplateError, render
from bot.queries.deps import Reads
from bot.queries.kit import loaded_campaign
from bot.states import Action, CampaignState, Kind, Status
from bot.store.models import DeliveryRow
from bot.web.rendering import web_address

FEED_ENTRIES = 50
ATOM = "http://www.w3.org/2005/Atom"
TITLE_CHARS = 90


@dataclass
class Entry:
    key: str
    language: str
    kind: str
    text: str
    published: datetime
    links: list[str] = field(default_factory=list)
    updated: datetime | None = None
    """Later than ``published`` only for a closing message: raised to the newest instant, so that readers
    sorting by date show it first."""


def _post_key(plan_key: str) -> str:
    """A plan key without its account (the part before the language): the same post on every network."""
    parts = plan_key.split("|")
    return "|".join(parts[:-2] + parts[-1:]) if len(parts) >= 3 else plan_key


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def feed_entries(app: Reads, campaign_id: str, language: str | None = None) -> tuple[str, list[Entry]]:
    """(title, in ``language`` when given; entries newest first)."""
    with app.sessions() as session:
        row, campaign = loaded_campaign(session, campaign_id)
        sent = session.scalars(
            select(DeliveryRow).where(DeliveryRow.campaign_id == campaign_id, DeliveryRow.status == Status.SENT,
                                      DeliveryRow.action == str(Action.POST), DeliveryRow.sent_at.is_not(None))
            .order_by(DeliveryRow.sent_at.desc(), DeliveryRow.id.desc()).limit(FEED_ENTRIES * 4))
        entries: dict[str, Entry] = {}
        for d in sent:
            assert d.sent_at is not None
            key = f"{_post_key(d.plan_key)}|{d.text}"  # accounts rotate variants: same slot, other texts
            entry = entries.setdefault(key, Entry(key, d.language, d.kind, d.text, d.sent_at))
            entry.published = min(entry.published, d.sent_at)
            if d.remote_url:
                entry.links.append(d.remote_url)
    title = campaign.model.title_in(language) if language else row.title
    if row.state != CampaignState.CLOSED:
        return title, sorted(entries.values(), key=lambda e: e.published, reverse=True)[:FEED_ENTRIES]
    closed_at = row.state_changed_at or app.clock.now()
    newest = max([closed_at, *(e.published for e in entries.values())])
    message: Message = getattr(campaign.model.messages.closing, row.outcome or "no_further_action")
    closing: list[Entry] = []
    for language in campaign.model.languages:
        sent_closing = [e for e in entries.values() if e.kind == Kind.CLOSING and e.language == language]
        if sent_closing:
            closing.extend(sent_closing)
            continue
        try:  # not published (yet): the message itself, as the campaign's accounts will post it
            text = render(message, campaign.model, campaign.targets, language, "console", closed_at)
        except TemplateError:
            continue
        closing.append(Entry(f"{campaign_id}|closing|{language}", language, str(Kind.CLOSING), text, closed_at))
    for e in closing:
        e.updated = newest
    rest = sorted((e for e in entries.values() if e.kind != Kind.CLOSING), key=lambda e: e.published, reverse=True)
    return title, (closing + rest)[:FEED_ENTRIES]


def atom(app: Reads, campaign_id: str, base_url: str, language: str | None = None,
         subtitle: str | None = None) -> bytes:
    """The Atom document. ``base_url``: the web app's public address, for the feed's and entries' ids;
    ``language`` and ``subtitle``: the feed's own words, in the reader's language (the entries keep theirs)."""
    title, entries = feed_entries(app, campaign_id, language)
    base = base_url.rstrip("/")
    page = f"{base}/c/{campaign_id}"
    fg = FeedGenerator()
    fg.id(page)
    fg.title(xml_safe(title))
    if subtitle:
        fg.subtitle(xml_safe(subtitle))
    if language:
        fg.language(language)
    fg.author({"name": "campaign-bot"})
    fg.link(href=page, rel="alternate")
    fg.link(href=f"{page}/feed.atom", rel="self")
    fg.updated(max((e.updated or e.published for e in entries), default=app.clock.now()))
    for e in entries:
        fe = fg.add_entry(order="append")
        fe.id(f"{page}#{hashlib.sha256(e.key.encode()).hexdigest()[:20]}")
        fe.title(xml_safe(_title(e.text)))
        fe.content(xml_safe(e.text), type="text")
        fe.published(e.published)
        fe.updated(e.updated or e.published)
        links = [u for u in e.links if web_address(u)]  # a network-supplied URL, checked like every href
        for i, url in enumerate(links):
            fe.link(href=xml_safe(url), rel="alternate" if i == 0 else "related")
        if not links:
            fe.link(href=page, rel="alternate")
    return _link_relations(fg.atom_str(pretty=True))


def _link_relations(data: bytes) -> bytes:
    """feedgen 1.0 writes no rel (nor type, hreflang) on an entry's links (its loop reads them from the new XML
    element instead of the link's data), so each would be an alternate, and RFC 4287 4.2.7.2 allows one
    alternate per type and hreflang: the entry's first link is its alternate, the others are related."""
    from lxml import etree

    root = etree.fromstring(data)
    for entry in root.iterchildren(f"{{{ATOM}}}entry"):
        for i, link in enumerate(entry.iterchildren(f"{{{ATOM}}}link")):
            link.set("rel", "alternate" if i == 0 else "related")
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out
