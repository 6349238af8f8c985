"""Public pages, no sign-in: a campaign's share kit (/c/<id>), its Atom feed and the share kit's short links.

None of them sets a cookie unasked: the supporter's Mastodon instance is remembered by their own browser
(localStorage, static/share.js), and a click on a short link is only counted. The one cookie is the language a
supporter picks with the kit's language switch (``lang``, bot/web/i18n.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from bot.config.settings import LOGO_TYPES, OrganisationSettings
from bot.errors import NotFound
from bot.queries.kit import build_kit, loaded_campaign
from bot.queries.letters import destination, written
from bot.reach.clicks import LETTER
from bot.reach.links import ShareLinkRow, count_click, with_source
from bot.states import CampaignState
from bot.supporters.crypto import SecretKeyError, cipher_from_env
from bot.web.auth import PUBLIC, require
from bot.web.feed import atom
from bot.web.i18n import (
    direction,
    gettext,
    language_name,
    remember_choice,
    template_context,
    use_campaign_language,
    use_site_language,
)
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


def name_and_direction(code: str) -> tuple[str, str]:
    """(the language's own name for itself, its direction: ltr or rtl)."""
    return language_name(code), direction(code)


def campaign_languages(request: Request, campaign_id: str | None) -> list[str] | None:
    """The languages a campaign posts in, as the database last stored it (None: no such campaign)."""
    if campaign_id is None:
        return None
    with request.app.state.core.sessions() as session:
        try:
            _row, campaign = loaded_campaign(session, campaign_id)
        except NotFound:
            return None
    return list(campaign.model.languages)


def speak(request: Request, campaign_id: str | None) -> str:
    """Make this request's page speak the campaign's language the supporter reads (or, about no campaign, the
    visitor's own among the catalogues)."""
    languages = campaign_languages(request, campaign_id)
    return use_campaign_language(request, languages) if languages else use_site_language(request)


def organisation(request: Request) -> dict[str, str | None]:
    """The organisation's name and the address of its logo (None when there is none to show)."""
    settings: OrganisationSettings = request.app.state.core.config.organisation
    logo = settings.logo_url or ("/organisation/logo" if settings.logo_file and Path(settings.logo_file).is_file()
                                 else None)
    return {"name": settings.name or None, "logo": logo}


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
    """A public template, rendered without the session (so no cookie is set, but the language picked)."""
    if getattr(request.state, "language", None) is None:
        use_site_language(request)
    ctx = {**template_context(request), "organisation": organisation(request), **context}
    headers = {**remember_choice(request), "Content-Language": ctx["lang"], "Vary": "Accept-Language"}
    return templates.TemplateResponse(request, name, ctx, status_code=status, headers=headers)


def not_found(request: Request, campaign_id: str | None = None) -> Response:
    message = (gettext(request, "There is no campaign {campaign} here: the link may be mistyped, or the campaign "
                                "may have been removed.", campaign=campaign_id) if campaign_id else
               gettext(request, "This share link is not known: it may be mistyped."))
    return public_page(request, "public_error.html", {"title": gettext(request, "Not found"), "message": message},
                       404)


def language_switch(request: Request, languages: list[str], chosen: str) -> list[dict[str, Any]]:
    """The kit's language switch: each campaign language by its own name, a link that picks it."""
    return [{"code": code, "name": language_name(code), "dir": direction(code), "current": code == chosen,
             "href": f"{request.url.path}?{urlencode({'lang': code})}"} for code in languages]


@router.get("/organisation/logo")
def logo(request: Request) -> Response:
    """The organisation's logo file ([organisation] logo_file), as an image that runs nothing: an SVG opened on
    its own gets a policy that allows no script and sandboxes it."""
    path = request.app.state.core.config.organisation.logo_file
    if not path or not Path(path).is_file():
        return Response(status_code=404)
    kind = LOGO_TYPES[Path(path).suffix.lower()]
    return FileResponse(path, media_type=kind, headers={
        "Cache-Control": "public, max-age=86400",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox"})


@router.get("/c/{campaign_id}")
def share_kit(request: Request, campaign_id: str) -> Response:
    try:
        kit = build_kit(request.app.state.core, campaign_id, public_base(request))
    except NotFound:
        use_site_language(request)
        return not_found(request, campaign_id)
    languages = [lang.language for lang in kit.languages]
    chosen = use_campaign_language(request, languages)
    kit.languages.sort(key=lambda lang: lang.language != chosen)  # the supporter's language first
    names = {lang.language: name_and_direction(lang.language) for lang in kit.languages}
    summary = next((lang.summary for lang in kit.languages if lang.summary), None)
    heading = next((lang.title for lang in kit.languages if lang.language == chosen and lang.title), None)
    return public_page(request, "share.html", {
        "kit": kit, "names": names, "connect": connecting_enabled(), "feed": f"/c/{campaign_id}/feed.atom",
        "summary": summary, "heading": heading or kit.title, "heading_lang": chosen if heading else None,
        "chosen": chosen, "switch": language_switch(request, languages, chosen)})


@router.get("/c/{campaign_id}/mastodon")
def mastodon_share(request: Request, campaign_id: str, language: str = "", instance: str = "") -> Response:
    """The Mastodon button without JavaScript: to the share page of the instance the supporter typed."""
    host = instance_host(instance)
    try:
        kit = build_kit(request.app.state.core, campaign_id, public_base(request))
    except NotFound:
        use_site_language(request)
        return not_found(request, campaign_id)
    use_campaign_language(request, [lang.language for lang in kit.languages])
    path = next((t.mastodon_path for lang in kit.languages if lang.language == language for t in lang.texts
                 if t.network == "mastodon" and t.mastodon_path), None)
    if host is None or path is None:
        message = (gettext(request, "Type your Mastodon server's name, like mastodon.social.") if host is None
                   else gettext(request, "There is no Mastodon text to share in this language now."))
        return public_page(request, "public_error.html", {"title": gettext(request, "Cannot share"),
                                                          "message": message, "back": f"/c/{campaign_id}"}, 400)
    return RedirectResponse(f"https://{host}{path}", status_code=303, headers=PRIVATE)


@router.get("/c/{campaign_id}/feed.atom")
def feed(request: Request, campaign_id: str) -> Response:
    languages = campaign_languages(request, campaign_id)
    if languages is None:
        use_site_language(request)
        return not_found(request, campaign_id)
    chosen = use_campaign_language(request, languages)
    try:
        body = atom(request.app.state.core, campaign_id, public_base(request), chosen,
                    gettext(request, "What the organisation posted for this campaign, newest first"))
    except NotFound:
        return not_found(request, campaign_id)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/c/{campaign_id}/letter/{language}")
def printable_letter(request: Request, campaign_id: str, language: str) -> Response:
    """The letter to print and post: the postal address and the text (where a "write" by post leads)."""
    core = request.app.state.core
    with core.sessions.begin() as session:
        try:
            row, campaign = loaded_campaign(session, campaign_id)
        except NotFound:
            use_site_language(request)
            return not_found(request, campaign_id)
    use_campaign_language(request, list(campaign.model.languages))
    found = written(campaign, language, core.clock.now()) if row.state == CampaignState.ACTIVE else None
    if found is None or not found[0].contact.postal:
        return RedirectResponse(f"/c/{campaign_id}", status_code=303, headers=PRIVATE)
    to, text = found
    return public_page(request, "letter.html", {
        "title": campaign.model.title_in(language), "campaign_id": campaign_id, "to": to, "letter": text,
        "language": language, "direction": direction(language)})


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
            use_site_language(request)
            return not_found(request)
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
