"""Public pages, no sign-in: a campaign's share kit (/c/<id>), its Atom feed and the share kit's short links.

None of them reads or sets a cookie: the supporter's Mastodon instance is remembered by their own browser
(localStorage, static/share.js), and a click on a short link is only counted.
"""

from __future__ import annotations

import re
from typing import Any

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from bot.errors import NotFound
from bot.queries.kit import build_kit, loaded_campaign
from bot.queries.letters import destination, written
from bot.reach.clicks import LETTER
from bot.reach.links import ShareLinkRow, count_click, with_source
from bot.states import CampaignState
from bot.supporters.crypto import SecretKeyError, cipher_from_env
from bot.web.auth import PUBLIC, require
from bot.web.feed import atom
from bot.web.rendering import templates

router = APIRouter(include_in_schema=False, dependencies=[Depends(require(PUBLIC))])  # no sign-in
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
LINK_PREVIEWS = re.compile(
    r"bot\b|bot/|crawl|spider|preview|http\.rb|mastodon/|pleroma|akkoma|misskey|cardyb|facebookexternalhit|"
    r"embedly|slack|discord|whatsapp|telegram|meta-externalagent", re.IGNORECASE)
"""Servers fetching a link to show its card (each Mastodon instance a post reaches, Bluesky's card service,
X's, Facebook's, Threads', LinkedIn's, WhatsApp's and Telegram's crawlers): followed, but not counted as a
person's click. The user agent is read, never stored."""
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:\d{1,5})?$")


def public_base(request: Request) -> str:
    """The web app's public address: `[amplify] public_url` when set (behind a proxy), else as requested."""
    configured = request.app.state.core.config.amplify.public_url
    return str(configured or request.base_url).rstrip("/")


def language_name(code: str) -> tuple[str, str]:
    """(the language's own name for itself, its direction: ltr or rtl)."""
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return code, "auto"
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:], "rtl" if locale.character_order == "right-to-left" else "ltr"


def instance_host(value: str) -> str | None:
    """A Mastodon instance as typed ("mastodon.social", "https://mastodon.social/", "@me@mastodon.social"):
    its host name, or None when it is not one."""
    host = value.strip().lower().removeprefix("https://").removeprefix("http://").split("/")[0]
    host = host.rsplit("@", 1)[-1]
    return host if HOST_RE.match(host) else None


def connecting_enabled() -> bool:
    """Supporters can connect accounts only when the key that encrypts tokens is set ($CAMPAIGN_BOT_SECRET_KEY)."""
    try:
        return cipher_from_env() is not None
    except SecretKeyError:
        return False


def public_page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """A public template, rendered without the session (so no cookie is set)."""
    return templates.TemplateResponse(request, name, context, status_code=status)


def not_found(request: Request, message: str) -> Response:
    return public_page(request, "public_error.html", {"title": "Not found", "message": message}, 404)


@router.get("/c/{campaign_id}")
def share_kit(request: Request, campaign_id: str) -> Response:
    try:
        kit = build_kit(request.app.state.core, campaign_id, public_base(request))
    except NotFound as exc:
        return not_found(request, str(exc))
    names = {lang.language: language_name(lang.language) for lang in kit.languages}
    return public_page(request, "share.html", {"kit": kit, "names": names, "connect": connecting_enabled(),
                                               "feed": f"/c/{campaign_id}/feed.atom"})


@router.get("/c/{campaign_id}/mastodon")
def mastodon_share(request: Request, campaign_id: str, language: str = "", instance: str = "") -> Response:
    """The Mastodon button without JavaScript: to the share page of the instance the supporter typed."""
    host = instance_host(instance)
    try:
        kit = build_kit(request.app.state.core, campaign_id, public_base(request))
    except NotFound as exc:
        return not_found(request, str(exc))
    path = next((t.mastodon_path for lang in kit.languages if lang.language == language for t in lang.texts
                 if t.network == "mastodon" and t.mastodon_path), None)
    if host is None or path is None:
        message = ("type your Mastodon server's name, like mastodon.social" if host is None
                   else "there is no Mastodon text to share in this language now")
        return public_page(request, "public_error.html", {"title": "Cannot share", "message": message,
                                                          "back": f"/c/{campaign_id}"}, 400)
    return RedirectResponse(f"https://{host}{path}", status_code=303, headers=PRIVATE)


@router.get("/c/{campaign_id}/feed.atom")
def feed(request: Request, campaign_id: str) -> Response:
    try:
        body = atom(request.app.state.core, campaign_id, public_base(request))
    except NotFound as exc:
        return not_found(request, str(exc))
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/c/{campaign_id}/letter/{language}")
def printable_letter(request: Request, campaign_id: str, language: str) -> Response:
    """The letter to print and post: the postal address and the text (where a "write" by post leads)."""
    core = request.app.state.core
    with core.sessions.begin() as session:
        try:
            row, campaign = loaded_campaign(session, campaign_id)
        except NotFound as exc:
            return not_found(request, str(exc))
    found = written(campaign, language, core.clock.now()) if row.state == CampaignState.ACTIVE else None
    if found is None or not found[0].contact.postal:
        return RedirectResponse(f"/c/{campaign_id}", status_code=303, headers=PRIVATE)
    to, text = found
    direction = language_name(language)[1]
    return public_page(request, "letter.html", {"title": row.title, "campaign_id": campaign_id, "to": to,
                                                "letter": text, "language": language, "direction": direction})


@router.get("/s/{code}")
def short_link(request: Request, code: str) -> Response:
    """Count the click (campaign, kind, language, network, day: nothing about the person) and redirect: a share
    to the campaign's link with its source; a letter's "write" on to the e-mail, the form or the printable letter
    while the campaign is active (after it, to the kit and its thanks, uncounted)."""
    core = request.app.state.core
    person = not LINK_PREVIEWS.search(request.headers.get("user-agent", ""))
    with core.sessions.begin() as session:
        link = session.get(ShareLinkRow, code)
        if link is None:
            return not_found(request, "This share link is not known: it may be mistyped.")
        row, campaign = loaded_campaign(session, link.campaign_id)
        kit = f"/c/{link.campaign_id}"
        if link.kind == LETTER:
            target = (destination(campaign, link.language, link.network, public_base(request), core.clock.now())
                      if row.state == CampaignState.ACTIVE else None)
            if target is None:
                return RedirectResponse(kit, status_code=302, headers=PRIVATE)
        elif campaign.model.link:
            share = core.config.share
            target = with_source(campaign.model.link, link.network, share.params(link.network, link.campaign_id))
        else:
            target = kit
        if person:
            count_click(session, link, core.clock.now().date())
    return RedirectResponse(target, status_code=302, headers=PRIVATE)
