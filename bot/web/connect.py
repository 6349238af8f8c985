"""Supporters connect from a campaign's public page, and manage that from a private link (no account).

Mastodon: the OAuth authorization-code flow on the supporter's own instance (PKCE where it is offered;
bot/networks/mastodon_oauth.py), the app registered once per instance (bot/supporters/service.py). Bluesky:
the handle and an app password (the atproto package has no OAuth client). Either way the token goes straight
into the supporter store, encrypted; the supporter gets a private manage link (/m/<token>), shown once and
stored only as a hash, where they choose campaigns or disconnect.

The flow's state (OAuth state, PKCE verifier) waits in the signed session cookie between the start and the
callback; that cookie is set only once someone starts connecting.
"""

from __future__ import annotations

import errno
import functools
import re
import secrets
import socket
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from bot.actions import supporters
from bot.actions.base import Actor, Via
from bot.errors import UserError
from bot.networks.mastodon import oauth
from bot.networks.outbound import NotPublic, Reach, public_addresses, public_client
from bot.states import CampaignState
from bot.store.models import CampaignRow
from bot.supporters import service
from bot.supporters.accounts import reach_of
from bot.supporters.crypto import Cipher, cipher_from_env
from bot.web.auth import PUBLIC, require
from bot.web.i18n import N_, gettext, use_site_language
from bot.web.public import PRIVATE, instance_host, public_base, public_page, speak

router = APIRouter(include_in_schema=False, dependencies=[Depends(require(PUBLIC))])  # no sign-in
FLOW = "supporter_connect"
SUPPORTER = Actor("supporter (web)", None, Via.SUPPORTER)
"""Who acts on the connect pages and a manage link: the supporter, authorised by the link they hold."""
APP_PASSWORD_RE = re.compile(r"^[a-z0-9]{4}(-[a-z0-9]{4}){3}$")
LOCAL = ("127.0.0.1", "localhost", "::1")
PROBE_TIMEOUT = 10.0
"""How long the supporter's server has to answer /api/v1/instance before we say we cannot reach it."""
NO_SUCH_NAME = (errno.ENOENT, socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))

TYPE_SERVER = N_("type your server's name, like {example}")
NO_SUCH_SERVER = N_("there is no server called {host}: check the spelling")
CANNOT_LOOK_UP = N_("our server cannot reach {host} just now (it cannot look its name up): try again later, or "
                    "tell the campaign's organisers")
PRIVATE_ADDRESS = N_("our server cannot reach {host}: its name leads to a private address, and campaign-bot "
                     "only connects to public servers")
UNREACHABLE = N_("our server cannot reach {host} (no answer): if your server opens in your browser, try again "
                 "later or tell the campaign's organisers")
NOT_MASTODON = N_("{host} answers, but it is not a Mastodon server: check the name (the part of your handle after "
                  "the second @)")
REFUSED = N_("{host} refused our server's request (it answered {status}): try again later, or ask your server's "
             "admins")

TOO_MANY = N_("too many attempts to connect from here: wait ten minutes and try again")
NO_CAMPAIGN = N_("there is no campaign {campaign}")
NOT_STARTED_HERE = N_("this connection was not started here, or it was already used: start again from the "
                      "campaign's page")
NOT_AUTHORISED = N_("the connection was not authorised on your server; nothing was stored")
TYPE_HANDLE = N_("type your Bluesky handle, like alice.bsky.social")
NOT_APP_PASSWORD = N_("that is not an app password (four groups of four letters or digits, like "
                      "abcd-efgh-ijkl-mnop): make one in Bluesky's settings; never give your own password")
LINK_GONE = N_("this link does not work any more: the account was disconnected, or connected again with a new link")


class Refusal(UserError):
    """Why connecting did not work, told to the supporter in their language: a sentence marked for the
    catalogues, and the values it names."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message.format(**params))

    def said(self, request: Request) -> str:
        return gettext(request, self.message, **self.params)


def _cipher() -> Cipher:
    cipher = cipher_from_env()
    if cipher is None:
        raise Refusal(N_("connecting accounts is not set up on this server yet: ask the campaign's organisers"))
    return cipher


def _reach(request: Request) -> Reach:
    """Servers on this machine only by the explicit setting (`[amplify] local_servers`), never by the request."""
    return reach_of(request.app.state.core.config.amplify.local_servers)


def _callback(request: Request) -> str:
    """The OAuth callback, at the configured public address: a Host header never chooses where a code goes (nor
    makes campaign-bot register itself again on an instance)."""
    configured = request.app.state.core.config.amplify.public_url
    if not configured:
        raise Refusal(N_("connecting a Mastodon account is not set up on this server yet (its public address is "
                         "missing): ask the campaign's organisers"))
    return f"{configured.rstrip('/')}/connect/mastodon/callback"


def server_address(value: str, example: str, reach: Reach = Reach.PUBLIC) -> tuple[str, str]:
    """(host, base URL) of the server the supporter typed: a public https server, or http on this machine when
    ``reach`` allows it (development and tests). The address is checked again at every connection
    (bot/networks/outbound.py); this check only gives the supporter a clear sentence early."""
    typed = value.strip()
    if typed.lower().startswith("http://"):
        try:
            parts = urlsplit(typed)
            host, port = parts.hostname or "", parts.port
        except ValueError:
            raise Refusal(TYPE_SERVER, example=example) from None
        if reach is not Reach.LOCAL or "@" in parts.netloc or host not in LOCAL:
            raise Refusal(TYPE_SERVER, example=example)
        netloc = f"{host}:{port}" if port else host
        return netloc, f"http://{netloc}"
    host_ = instance_host(typed)
    if host_ is None:
        raise Refusal(TYPE_SERVER, example=example)
    name, _, port_text = host_.partition(":")
    try:
        public_addresses(name, int(port_text or 443), reach)
    except NotPublic:
        raise Refusal(PRIVATE_ADDRESS, host=host_) from None
    except httpx.ConnectError as exc:
        cause = exc.__cause__
        if isinstance(cause, socket.gaierror) and cause.errno in NO_SUCH_NAME:
            raise Refusal(NO_SUCH_SERVER, host=host_) from None
        raise Refusal(CANNOT_LOOK_UP, host=host_) from None  # our resolver failed: the name may well exist
    return host_, f"https://{host_}"


def check_mastodon(host: str, api_base_url: str, reach: Reach = Reach.PUBLIC) -> None:
    """Ask the server what it is (GET /api/v1/instance, public on every Mastodon server), so that a failure
    names its cause: we cannot reach it, it is not Mastodon, or it refused."""
    try:
        with public_client(reach, timeout=PROBE_TIMEOUT) as client:
            response = client.get(f"{api_base_url}/api/v1/instance",
                                  headers={"User-Agent": oauth.APP_NAME, "Accept": "application/json"})
    except NotPublic:
        raise Refusal(PRIVATE_ADDRESS, host=host) from None
    except httpx.HTTPError:  # refused, reset, timed out, TLS failed
        raise Refusal(UNREACHABLE, host=host) from None
    if response.status_code in (404, 410) or 300 <= response.status_code < 400:
        raise Refusal(NOT_MASTODON, host=host)
    if response.status_code >= 400:
        raise Refusal(REFUSED, host=host, status=response.status_code)
    try:
        data = response.json()
    except ValueError:
        raise Refusal(NOT_MASTODON, host=host) from None
    if not isinstance(data, dict) or not (data.get("uri") or data.get("domain")) or "version" not in data:
        raise Refusal(NOT_MASTODON, host=host)


def mastodon_server(value: str, reach: Reach = Reach.PUBLIC) -> tuple[str, str]:
    return server_address(value, "mastodon.social", reach)


class _Typed:
    """The Secrets protocol over the app password just typed: it is checked before anything is stored."""

    def __init__(self, value: str) -> None:
        self.value = value

    def read(self, name: str) -> str:
        return self.value


def check_bluesky(handle: str, app_password: str, service_url: str, reach: Reach = Reach.PUBLIC) -> None:
    """Log in once with the handle and app password, as the boosts will; UserError when Bluesky refuses."""
    from bot.networks.base import AuthRevoked, Misconfigured, NetworkError, PermanentError
    from bot.networks.registry import account_settings_model, network_class

    settings = account_settings_model("bluesky").model_validate(
        {"network": "bluesky", "handle": handle, "app_password_env": "app_password", "service_url": service_url,
         "reach": str(reach)})
    try:
        network_class("bluesky")("supporter:new", settings, secrets=_Typed(app_password)).check()
    except (AuthRevoked, PermanentError, Misconfigured):
        raise Refusal(N_("Bluesky refused this handle and app password: check both and try again")) from None
    except NetworkError:
        raise Refusal(N_("our server cannot reach Bluesky just now: try again in a moment")) from None


def _too_many(request: Request) -> bool:
    address = request.client.host if request.client else "?"
    return not supporters.may_try_connecting(request.app.state.core, address)


def _said(request: Request, exc: UserError) -> str:
    if isinstance(exc, Refusal):
        return exc.said(request)
    return gettext(request, "your server answered in a way campaign-bot did not expect ({detail}): try again "
                            "later", detail=str(exc))


def _problem(request: Request, message: str, back: str | None, status: int = 400) -> Response:
    """The error page; ``message`` is already in the page's language."""
    return public_page(request, "public_error.html", {"title": gettext(request, "That did not work"),
                                                      "message": message, "back": back}, status)


@router.post("/c/{campaign_id}/connect/mastodon")
def start_mastodon(request: Request, campaign_id: str, instance: Annotated[str, Form()] = "") -> Response:
    return _start_mastodon(request, campaign_id, instance)


@router.get("/supporters/connect/mastodon")
def start_mastodon_link(request: Request, instance: str = "", campaign: str = "") -> Response:
    """The link `supporters connect-url --network mastodon --instance HOST` prints: the same flow, started by
    following a link; without a campaign the supporter amplifies every campaign (they can narrow it after)."""
    return _start_mastodon(request, campaign or None, instance)


def _start_mastodon(request: Request, campaign_id: str | None, instance: str) -> Response:
    core = request.app.state.core
    speak(request, campaign_id)
    back = f"/c/{campaign_id}" if campaign_id else None
    reach = _reach(request)
    if _too_many(request):
        return _problem(request, gettext(request, TOO_MANY), back, 429)
    try:
        cipher = _cipher()
        redirect_uri = _callback(request)
        host, api_base_url = mastodon_server(instance, reach)
        check_mastodon(host, api_base_url, reach)
        info = oauth.server_info(api_base_url, reach)
        with core.sessions.begin() as session:
            if campaign_id is not None and session.get(CampaignRow, campaign_id) is None:
                return _problem(request, gettext(request, NO_CAMPAIGN, campaign=campaign_id), None, 404)
            app = service.ensure_mastodon_app(session, cipher, core.clock.now(), host, api_base_url, redirect_uri,
                                              functools.partial(oauth.register_app, reach=reach))
    except UserError as exc:
        return _problem(request, _said(request, exc), back)
    verifier, challenge = oauth.pkce_pair() if info.pkce else (None, None)
    state = secrets.token_urlsafe(24)
    request.session[FLOW] = {"state": state, "verifier": verifier, "instance": host, "campaign": campaign_id,
                             "api_base_url": api_base_url, "client_id": app.client_id}
    url = oauth.authorize_url(info, app.client_id, redirect_uri, app.scopes, state, challenge)
    return RedirectResponse(url, status_code=303, headers=PRIVATE)


@router.get("/connect/mastodon/callback")
def mastodon_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    core = request.app.state.core
    flow: dict[str, Any] | None = request.session.pop(FLOW, None)
    speak(request, flow.get("campaign") if flow else None)
    if not flow or not state or not secrets.compare_digest(str(flow.get("state")).encode(), state.encode()):
        return _problem(request, gettext(request, NOT_STARTED_HERE), None)
    back = f"/c/{flow['campaign']}" if flow.get("campaign") else None
    if error or not code:
        return _problem(request, gettext(request, NOT_AUTHORISED), back)
    reach = _reach(request)
    try:
        cipher = _cipher()
        info = oauth.server_info(flow["api_base_url"], reach)
        with core.sessions() as session:
            app = service.mastodon_app(session, cipher, flow["instance"])
        if app is None or app.client_id != flow.get("client_id"):  # re-registered meanwhile: the code is not ours
            raise Refusal(N_("campaign-bot's registration on your server changed meanwhile: start again"))
        token = oauth.exchange_code(info, app.client_id, app.client_secret, app.redirect_uri, app.scopes, code,
                                    flow.get("verifier"), reach)
        handle = oauth.verify(flow["api_base_url"], token, reach)
        _, connected = supporters.connect(core, SUPPORTER, network="mastodon", name=handle,
                                          credentials={"access_token": token}, instance=flow["instance"],
                                          api_base_url=flow["api_base_url"], handle=handle,
                                          campaigns=[flow["campaign"]] if flow.get("campaign") else None)
    except UserError as exc:
        return _problem(request, _said(request, exc), back)
    return RedirectResponse(f"/m/{connected.manage_token}?welcome=1", status_code=303, headers=PRIVATE)


@router.post("/c/{campaign_id}/connect/bluesky")
def connect_bluesky(request: Request, campaign_id: str, handle: Annotated[str, Form()] = "",
                    app_password: Annotated[str, Form()] = "", server: Annotated[str, Form()] = "") -> Response:
    core = request.app.state.core
    speak(request, campaign_id)
    back = f"/c/{campaign_id}"
    handle = handle.strip().lstrip("@").lower()
    if not re.fullmatch(r"([a-z0-9-]+\.)+[a-z]{2,}", handle):
        return _problem(request, gettext(request, TYPE_HANDLE), back)
    if not APP_PASSWORD_RE.match(app_password.strip()):
        return _problem(request, gettext(request, NOT_APP_PASSWORD), back)
    reach = _reach(request)
    if _too_many(request):
        return _problem(request, gettext(request, TOO_MANY), back, 429)
    try:
        _cipher()  # connecting is set up (the key that encrypts the app password is there)
        host, service_url = server_address(server or "bsky.social", "bsky.social", reach)
        with core.sessions() as session:
            if session.get(CampaignRow, campaign_id) is None:
                return _problem(request, gettext(request, NO_CAMPAIGN, campaign=campaign_id), None, 404)
        check_bluesky(handle, app_password.strip(), service_url, reach)
        _, connected = supporters.connect(core, SUPPORTER, network="bluesky", name=handle,
                                          credentials={"app_password": app_password.strip()}, handle=handle,
                                          instance=host, api_base_url=service_url, campaigns=[campaign_id])
    except UserError as exc:
        return _problem(request, _said(request, exc), back)
    return RedirectResponse(f"/m/{connected.manage_token}?welcome=1", status_code=303, headers=PRIVATE)


def _manage_page(request: Request, token: str, message: str | None = None) -> Response:
    core = request.app.state.core
    use_site_language(request)
    with core.sessions() as session:
        supporter = service.by_manage_token(session, token)
        campaigns = [(c.id, c.title) for c in session.scalars(
            select(CampaignRow).where(CampaignRow.state != CampaignState.CLOSED).order_by(CampaignRow.title))]
    if supporter is None:
        return _problem(request, gettext(request, LINK_GONE), None, 404)
    response = public_page(request, "manage.html", {
        "supporter": supporter, "campaigns": campaigns, "link": f"{public_base(request)}/m/{token}",
        "welcome": request.query_params.get("welcome") == "1", "message": message, "token": token})
    response.headers.update(PRIVATE)
    return response


@router.get("/m/{token}")
def manage(request: Request, token: str) -> Response:
    return _manage_page(request, token)


@router.post("/m/{token}")
def choose(request: Request, token: str, scope: Annotated[str, Form()] = "chosen",
           campaign: Annotated[list[str] | None, Form()] = None) -> Response:
    core = request.app.state.core
    use_site_language(request)
    with core.sessions() as session:
        supporter = service.by_manage_token(session, token)
    if supporter is None:
        return _manage_page(request, token)
    supporters.choose_campaigns(core, SUPPORTER, supporter.id, None if scope == "all" else campaign or [])
    return _manage_page(request, token, gettext(request, "Saved: your choice applies to the next posts."))


@router.post("/m/{token}/disconnect")
def disconnect(request: Request, token: str) -> Response:
    core = request.app.state.core
    with core.sessions() as session:
        supporter = service.by_manage_token(session, token)
    if supporter is None:
        return _manage_page(request, token)
    supporters.disconnect(core, SUPPORTER, supporter.id, "disconnected by the supporter")
    use_site_language(request)
    return public_page(request, "public_error.html", {
        "title": gettext(request, "Disconnected"),
        "message": gettext(request, "Your account is disconnected: the bot will not boost for you any more, and "
                                    "your token is deleted. You may also revoke campaign-bot in your account's "
                                    "settings.")})
