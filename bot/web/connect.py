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

import functools
import re
import secrets
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
from bot.networks.outbound import NotPublic, Reach, public_addresses
from bot.states import CampaignState
from bot.store.models import CampaignRow
from bot.supporters import service
from bot.supporters.accounts import reach_of
from bot.supporters.crypto import Cipher, cipher_from_env
from bot.web.auth import PUBLIC, require
from bot.web.public import PRIVATE, instance_host, public_base, public_page

router = APIRouter(include_in_schema=False, dependencies=[Depends(require(PUBLIC))])  # no sign-in
FLOW = "supporter_connect"
SUPPORTER = Actor("supporter (web)", None, Via.SUPPORTER)
"""Who acts on the connect pages and a manage link: the supporter, authorised by the link they hold."""
APP_PASSWORD_RE = re.compile(r"^[a-z0-9]{4}(-[a-z0-9]{4}){3}$")
LOCAL = ("127.0.0.1", "localhost", "::1")


def _cipher() -> Cipher:
    cipher = cipher_from_env()
    if cipher is None:
        raise UserError("connecting accounts is not set up on this server yet: ask the campaign's organisers")
    return cipher


def _reach(request: Request) -> Reach:
    """Servers on this machine only by the explicit setting (`[amplify] local_servers`), never by the request."""
    return reach_of(request.app.state.core.config.amplify.local_servers)


def _callback(request: Request) -> str:
    """The OAuth callback, at the configured public address: a Host header never chooses where a code goes (nor
    makes campaign-bot register itself again on an instance)."""
    configured = request.app.state.core.config.amplify.public_url
    if not configured:
        raise UserError("connecting a Mastodon account is not set up on this server yet (its public address is "
                        "missing): ask the campaign's organisers")
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
            raise UserError(f"type your server's name, like {example}") from None
        if reach is not Reach.LOCAL or "@" in parts.netloc or host not in LOCAL:
            raise UserError(f"type your server's name, like {example}")
        netloc = f"{host}:{port}" if port else host
        return netloc, f"http://{netloc}"
    host_ = instance_host(typed)
    if host_ is None:
        raise UserError(f"type your server's name, like {example}")
    name, _, port_text = host_.partition(":")
    try:
        public_addresses(name, int(port_text or 443), reach)
    except NotPublic:
        raise UserError(f"{host_} is not a public server") from None
    except httpx.ConnectError:
        raise UserError(f"there is no server called {host_}: check the spelling") from None
    return host_, f"https://{host_}"


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
        raise UserError("Bluesky refused this handle and app password: check both and try again") from None
    except NetworkError:
        raise UserError("Bluesky could not be reached just now: try again in a moment") from None


def _too_many(request: Request) -> bool:
    address = request.client.host if request.client else "?"
    return not supporters.may_try_connecting(request.app.state.core, address)


def _problem(request: Request, message: str, back: str | None, status: int = 400) -> Response:
    return public_page(request, "public_error.html", {"title": "That did not work", "message": message,
                                                      "back": back}, status)


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
    back = f"/c/{campaign_id}" if campaign_id else None
    reach = _reach(request)
    if _too_many(request):
        return _problem(request, "too many attempts to connect from here: wait ten minutes and try again", back, 429)
    try:
        cipher = _cipher()
        redirect_uri = _callback(request)
        host, api_base_url = mastodon_server(instance, reach)
        info = oauth.server_info(api_base_url, reach)
        with core.sessions.begin() as session:
            if campaign_id is not None and session.get(CampaignRow, campaign_id) is None:
                return _problem(request, f"no campaign {campaign_id!r}", None, 404)
            app = service.ensure_mastodon_app(session, cipher, core.clock.now(), host, api_base_url, redirect_uri,
                                              functools.partial(oauth.register_app, reach=reach))
    except UserError as exc:
        return _problem(request, str(exc), back)
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
    if not flow or not state or not secrets.compare_digest(str(flow.get("state")).encode(), state.encode()):
        return _problem(request, "this connection was not started here, or it was already used: start again "
                                 "from the campaign's page", None)
    back = f"/c/{flow['campaign']}" if flow.get("campaign") else None
    if error or not code:
        return _problem(request, "the connection was not authorised on your server; nothing was stored", back)
    reach = _reach(request)
    try:
        cipher = _cipher()
        info = oauth.server_info(flow["api_base_url"], reach)
        with core.sessions() as session:
            app = service.mastodon_app(session, cipher, flow["instance"])
        if app is None or app.client_id != flow.get("client_id"):  # re-registered meanwhile: the code is not ours
            raise UserError("campaign-bot's registration on your server changed meanwhile: start again")
        token = oauth.exchange_code(info, app.client_id, app.client_secret, app.redirect_uri, app.scopes, code,
                                    flow.get("verifier"), reach)
        handle = oauth.verify(flow["api_base_url"], token, reach)
        _, connected = supporters.connect(core, SUPPORTER, network="mastodon", name=handle,
                                          credentials={"access_token": token}, instance=flow["instance"],
                                          api_base_url=flow["api_base_url"], handle=handle,
                                          campaigns=[flow["campaign"]] if flow.get("campaign") else None)
    except UserError as exc:
        return _problem(request, str(exc), back)
    return RedirectResponse(f"/m/{connected.manage_token}?welcome=1", status_code=303, headers=PRIVATE)


@router.post("/c/{campaign_id}/connect/bluesky")
def connect_bluesky(request: Request, campaign_id: str, handle: Annotated[str, Form()] = "",
                    app_password: Annotated[str, Form()] = "", server: Annotated[str, Form()] = "") -> Response:
    core = request.app.state.core
    back = f"/c/{campaign_id}"
    handle = handle.strip().lstrip("@").lower()
    if not re.fullmatch(r"([a-z0-9-]+\.)+[a-z]{2,}", handle):
        return _problem(request, "type your Bluesky handle, like alice.bsky.social", back)
    if not APP_PASSWORD_RE.match(app_password.strip()):
        return _problem(request, "that is not an app password (four groups of four letters or digits, like "
                                 "abcd-efgh-ijkl-mnop): make one in Bluesky's settings; never give your own "
                                 "password", back)
    reach = _reach(request)
    if _too_many(request):
        return _problem(request, "too many attempts to connect from here: wait ten minutes and try again", back, 429)
    try:
        _cipher()  # connecting is set up (the key that encrypts the app password is there)
        host, service_url = server_address(server or "bsky.social", "bsky.social", reach)
        with core.sessions() as session:
            if session.get(CampaignRow, campaign_id) is None:
                return _problem(request, f"no campaign {campaign_id!r}", None, 404)
        check_bluesky(handle, app_password.strip(), service_url, reach)
        _, connected = supporters.connect(core, SUPPORTER, network="bluesky", name=handle,
                                          credentials={"app_password": app_password.strip()}, handle=handle,
                                          instance=host, api_base_url=service_url, campaigns=[campaign_id])
    except UserError as exc:
        return _problem(request, str(exc), back)
    return RedirectResponse(f"/m/{connected.manage_token}?welcome=1", status_code=303, headers=PRIVATE)


def _manage_page(request: Request, token: str, message: str | None = None) -> Response:
    core = request.app.state.core
    with core.sessions() as session:
        supporter = service.by_manage_token(session, token)
        campaigns = [(c.id, c.title) for c in session.scalars(
            select(CampaignRow).where(CampaignRow.state != CampaignState.CLOSED).order_by(CampaignRow.title))]
    if supporter is None:
        return _problem(request, "this link does not work any more: the account was disconnected, or connected "
                                 "again with a new link", None, 404)
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
    with core.sessions() as session:
        supporter = service.by_manage_token(session, token)
    if supporter is None:
        return _manage_page(request, token)
    supporters.choose_campaigns(core, SUPPORTER, supporter.id, None if scope == "all" else campaign or [])
    return _manage_page(request, token, "Saved: your choice applies to the next posts.")


@router.post("/m/{token}/disconnect")
def disconnect(request: Request, token: str) -> Response:
    core = request.app.state.core
    with core.sessions() as session:
        supporter = service.by_manage_token(session, token)
    if supporter is None:
        return _manage_page(request, token)
    supporters.disconnect(core, SUPPORTER, supporter.id, "disconnected by the supporter")
    return public_page(request, "public_error.html", {
        "title": "Disconnected", "message": "Your account is disconnected: the bot will not boost for you any "
        "more, and your token is deleted. You may also revoke campaign-bot in your account's settings."})
