"""The share kit's content: the campaign's current call to action (or, once closed, its closing message) in
each language, rendered for each network by the campaign's own templates, with the one-click links.

The campaign's link in a shared text is replaced by a short link (/s/CODE, bot/web/public.py) that counts the
click and redirects to the campaign's link with ``?source=<network>``. The letter to the target (its text and
where it goes) comes from bot/queries/letters.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.campaigns.loader import LoadedCampaign
from bot.campaigns.schema import Message
from bot.campaigns.templates import TemplateError, pick, render
from bot.errors import NotFound
from bot.networks.registry import network_class
from bot.queries.deps import Reads
from bot.queries.letters import LetterKit, letter_kit
from bot.reach.links import ensure_code
from bot.states import CampaignState, Kind, Status
from bot.store.models import CampaignRow, DeliveryRow

KIT_NETWORKS = ("x", "mastodon", "bluesky", "threads", "whatsapp", "telegram", "facebook", "linkedin")
"""Every share button, in the order the kit shows them."""
NETWORK_NAMES = {"x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky", "threads": "Threads", "whatsapp": "WhatsApp",
                 "telegram": "Telegram", "facebook": "Facebook", "linkedin": "LinkedIn"}
INTENTS = {
    "x": "https://x.com/intent/post?text={text}",
    "bluesky": "https://bsky.app/intent/compose?text={text}",
    # developers.facebook.com/documentation/threads/threads-web-intents
    "threads": "https://www.threads.com/intent/post?text={text}",
    # WhatsApp's click to chat without a number: the supporter picks the chat; the link goes inside the text.
    "whatsapp": "https://wa.me/?text={text}",
    # core.telegram.org/widgets/share: the link, and the text shown with it (the link is not repeated in it).
    "telegram": "https://t.me/share/url?url={url}&text={text_without_url}",
    # Facebook and LinkedIn share a link only (its page's preview card): the text is there to copy.
    "facebook": "https://www.facebook.com/sharer/sharer.php?u={url}",
    "linkedin": "https://www.linkedin.com/sharing/share-offsite/?url={url}",
}
SHARE_ONLY_LIMITS = {"whatsapp": 65_536, "linkedin": 3_000}
"""Networks the organisation does not post to (no adapter): a message's limit, in characters."""
MASTODON_SHARE_PATH = "/share?text="
"""Mastodon's share page, on the supporter's own instance (https://HOST/share?text=...)."""


def N_(message: str) -> str:  # noqa: N802 - the name the extractor looks for (bot/web/catalogues.py)
    """Marks a sentence for the catalogues: the page translates it (``said``), then fills its fields in."""
    return message


NOT_AVAILABLE = N_("not available: {problem}")
TOO_LONG = N_("too long for {network} ({length}/{limit}): shorten it before posting")
LINK_ONLY = N_("{network} shares the link only: copy the text to post it with the link")

Said = tuple[str, dict[str, object]]
"""A sentence marked for the catalogues and the values it names: the page says it in the supporter's language."""


def encoded(text: str) -> str:
    """Percent-encoded as a query value: every reserved character (&, #, +, spaces, newlines) escaped."""
    return quote(text, safe="")


@dataclass
class ShareText:
    network: str
    name: str
    text: str = ""
    length: int = 0
    limit: int = 0
    intent: str | None = None
    """The full one-click URL; Mastodon's is mastodon_path after the supporter's instance."""
    mastodon_path: str | None = None
    problem: str | None = None
    note: str | None = None
    """What the network does to the text unasked (Threads' one topic tag), or that only the link is shared."""
    said_problem: Said | None = None
    said_note: Said | None = None
    """``problem`` and ``note`` as sentences to translate, where the kit made them (a network's own words about a
    text stay as it wrote them)."""


@dataclass
class LanguageKit:
    language: str
    texts: list[ShareText] = field(default_factory=list)
    closing: str | None = None
    letter: LetterKit | None = None
    summary: str | None = None
    """The case in this language (the campaign's optional ``summary``)."""
    title: str = ""
    """The campaign's title in this language (else in its first language that has one), when its title is a
    table per language; empty when it is one string for all (``Kit.title``)."""


@dataclass
class Kit:
    campaign_id: str
    title: str
    state: str
    outcome: str | None
    languages: list[LanguageKit]


def loaded_campaign(session: Session, campaign_id: str) -> tuple[CampaignRow, LoadedCampaign]:
    """The campaign as the database last stored it (the public pages never read the files)."""
    row = session.get(CampaignRow, campaign_id)
    if row is None:
        raise NotFound(f"no campaign {campaign_id!r}")
    try:
        return row, LoadedCampaign.from_definition(campaign_id, row.definition)
    except ValueError:
        raise NotFound(f"campaign {campaign_id!r} cannot be shown now") from None


def current_variant(session: Session, campaign: LoadedCampaign) -> Message:
    """The call to action the organisation posted last (its first one before anything is sent)."""
    variant = session.scalar(
        select(DeliveryRow.variant).where(DeliveryRow.campaign_id == campaign.id,
                                          DeliveryRow.kind == Kind.CALL_TO_ACTION, DeliveryRow.status == Status.SENT,
                                          DeliveryRow.variant.is_not(None))
        .order_by(DeliveryRow.sent_at.desc(), DeliveryRow.id.desc()).limit(1))
    variants = campaign.model.messages.call_to_action
    return variants[variant % len(variants)] if variant is not None else variants[0]


def measure(network: str, text: str) -> tuple[int, int, str | None, str | None]:
    """(length, limit, problem, note) as the network counts and judges the text."""
    if network in SHARE_ONLY_LIMITS:
        return len(text), SHARE_ONLY_LIMITS[network], None, None
    cls = network_class(network)
    return cls.measure(text), cls.max_length, cls.text_problem(text), cls.text_warning(text)


def share_text(campaign: LoadedCampaign, message: Message, language: str, network: str, short_link: str | None,
               now: datetime, page_url: str = "") -> ShareText:
    """The text for one network, its length as that network counts it, and the one-click link when it fits.
    ``page_url``: what Telegram, Facebook and LinkedIn share when the campaign has no link (the kit itself)."""
    model = campaign.model
    if short_link and model.link:
        model = model.model_copy(update={"link": short_link})
    out = ShareText(network=network, name=NETWORK_NAMES[network])
    try:
        out.text = render(message, model, campaign.targets, language, network, now)
    except TemplateError as exc:
        out.said_problem = (NOT_AVAILABLE, {"problem": str(exc)})
        out.problem = NOT_AVAILABLE.format(problem=exc)
        return out
    out.length, out.limit, problem, out.note = measure(network, out.text)
    if out.length > out.limit:
        out.said_problem = (TOO_LONG, {"network": out.name, "length": out.length, "limit": out.limit})
        out.problem = TOO_LONG.format(**out.said_problem[1])
    elif problem:
        out.problem = problem
    elif network == "mastodon":
        out.mastodon_path = MASTODON_SHARE_PATH + encoded(out.text)
    else:
        url = short_link if short_link and model.link else page_url
        without = " ".join(out.text.replace(url, " ").split()) if url else out.text
        out.intent = INTENTS[network].format(text=encoded(out.text), url=encoded(url),
                                             text_without_url=encoded(without))
        if network in ("facebook", "linkedin"):
            out.said_note = (LINK_ONLY, {"network": out.name})
            out.note = LINK_ONLY.format(network=out.name)
    return out


def build_kit(app: Reads, campaign_id: str, base_url: str) -> Kit:
    """The kit for a campaign; ``base_url`` is the web app's public address (for the short links)."""
    now = app.clock.now()
    base = base_url.rstrip("/")
    with app.sessions.begin() as session:
        row, campaign = loaded_campaign(session, campaign_id)
        kit = Kit(campaign_id, row.title, row.state, row.outcome, [])
        for language in campaign.model.languages:
            titles = isinstance(campaign.model.title, dict)
            lang = LanguageKit(language, title=campaign.model.title_in(language) if titles else "")
            kit.languages.append(lang)
            if campaign.model.summary is not None:
                lang.summary = pick(campaign.model.summary, language)
            if row.state == CampaignState.CLOSED:
                closing: Message = getattr(campaign.model.messages.closing, row.outcome or "no_further_action")
                try:
                    lang.closing = render(closing, campaign.model, campaign.targets, language, "console", now)
                except TemplateError:
                    lang.closing = None
                continue
            if row.state != CampaignState.ACTIVE:
                continue
            message = current_variant(session, campaign)
            for network in KIT_NETWORKS:
                short = None
                if campaign.model.link:
                    short = f"{base}/s/{ensure_code(session, campaign_id, language, network)}"
                lang.texts.append(share_text(campaign, message, language, network, short, now,
                                             f"{base}/c/{campaign_id}"))
            lang.letter = letter_kit(session, campaign, language, base, now)
    return kit
