"""Connecting a supporter's Mastodon account: the OAuth authorization-code flow on their own instance.

Plain HTTP (httpx) through bot/networks/outbound.py, so every connection (each endpoint, each redirect)
reaches a public address only: the instance is the supporter's choice. Mastodon.py has no PKCE. PKCE (S256)
is used when the instance says it supports it (/.well-known/oauth-authorization-server, Mastodon 4.3+);
older instances get the plain code flow, which
they accept with the app's client secret. The endpoints the metadata names must be on the instance itself
(RFC 8414 ties the metadata to its issuer): the code and our client secret go nowhere else, and visitors are
sent nowhere else. Nothing here logs or puts a token or secret in an error message.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from bot.errors import UserError
from bot.networks.outbound import Reach, public_client

TIMEOUT = 15.0
APP_NAME = "campaign-bot"


class OAuthError(UserError):
    """The instance refused or could not be reached: one line for the supporter, no secret in it."""


@dataclass(frozen=True)
class ServerInfo:
    authorize_endpoint: str
    token_endpoint: str
    pkce: bool


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 describes."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _call(method: str, url: str, what: str, reach: Reach, **kwargs: Any) -> Any:
    try:
        with public_client(reach, timeout=TIMEOUT) as client:
            response = client.request(method, url, follow_redirects=False,
                                      headers={"User-Agent": APP_NAME, **kwargs.pop("headers", {})}, **kwargs)
    except httpx.HTTPError as exc:
        raise OAuthError(f"{what}: cannot reach {httpx.URL(url).host} ({type(exc).__name__})") from None
    if response.status_code >= 400:
        raise OAuthError(f"{what}: the server answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise OAuthError(f"{what}: the server's answer is not JSON: is it a Mastodon server?") from None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _on_the_instance(endpoint: object, base: str, name: str) -> str:
    """An endpoint the metadata names, if it is on the instance (same scheme, host and port, no user part)."""
    if not isinstance(endpoint, str):
        raise OAuthError(f"the server's OAuth metadata has no {name}: is it a Mastodon server?")
    try:
        same = _origin(endpoint) == _origin(base) and "@" not in urlsplit(endpoint).netloc
    except ValueError:
        same = False
    if not same:
        raise OAuthError(f"the server's OAuth metadata sends its {name} to another server; campaign-bot only talks "
                         "to the server you typed")
    return endpoint


def server_info(api_base_url: str, reach: Reach = Reach.PUBLIC) -> ServerInfo:
    """The OAuth endpoints, and whether PKCE with S256 is offered."""
    base = api_base_url.rstrip("/")
    fallback = ServerInfo(f"{base}/oauth/authorize", f"{base}/oauth/token", pkce=False)
    try:
        with public_client(reach, timeout=TIMEOUT) as client:
            response = client.get(f"{base}/.well-known/oauth-authorization-server", headers={"User-Agent": APP_NAME})
    except httpx.HTTPError as exc:
        raise OAuthError(f"cannot reach {httpx.URL(base).host} ({type(exc).__name__})") from None
    if response.status_code != 200:  # before Mastodon 4.3: no metadata, no PKCE
        return fallback
    try:
        meta = response.json()
    except ValueError:
        return fallback
    if not isinstance(meta, dict):
        return fallback
    return ServerInfo(_on_the_instance(meta.get("authorization_endpoint") or fallback.authorize_endpoint, base,
                                       "authorization endpoint"),
                      _on_the_instance(meta.get("token_endpoint") or fallback.token_endpoint, base, "token endpoint"),
                      pkce="S256" in (meta.get("code_challenge_methods_supported") or []))


def register_app(api_base_url: str, redirect_uri: str, scopes: str, reach: Reach = Reach.PUBLIC) -> tuple[str, str]:
    """Register campaign-bot on the instance (once per instance): (client_id, client_secret)."""
    data = _call("POST", f"{api_base_url.rstrip('/')}/api/v1/apps", "registering the app", reach,
                 data={"client_name": APP_NAME, "redirect_uris": redirect_uri, "scopes": scopes})
    if not isinstance(data, dict) or not data.get("client_id") or not data.get("client_secret"):
        raise OAuthError("registering the app: the server's answer has no client id")
    return str(data["client_id"]), str(data["client_secret"])


def authorize_url(info: ServerInfo, client_id: str, redirect_uri: str, scopes: str, state: str,
                  challenge: str | None) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scopes,
              "state": state}
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return f"{info.authorize_endpoint}?{urlencode(params)}"


def exchange_code(info: ServerInfo, client_id: str, client_secret: str, redirect_uri: str, scopes: str,
                  code: str, verifier: str | None, reach: Reach = Reach.PUBLIC) -> str:
    """The access token for the code the instance gave back."""
    form = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": client_secret, "redirect_uri": redirect_uri, "scope": scopes}
    if verifier is not None:
        form["code_verifier"] = verifier
    data = _call("POST", info.token_endpoint, "getting the access token", reach, data=form)
    token = data.get("access_token") if isinstance(data, dict) else None
    if not token:
        raise OAuthError("getting the access token: the server's answer has none")
    return str(token)


USERNAME_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$")
"""Mastodon's own rule is letters, digits and underscores (dots and dashes inside on some servers)."""


def verify(api_base_url: str, access_token: str, reach: Reach = Reach.PUBLIC) -> str:
    """The connected account's handle, username@host: the username as the server answers (checked: it is shown
    and stored), the host as we know it (never the server's word for it)."""
    data = _call("GET", f"{api_base_url.rstrip('/')}/api/v1/accounts/verify_credentials", "reading your account",
                 reach, headers={"Authorization": f"Bearer {access_token}"})
    if not isinstance(data, dict) or not data.get("username"):
        raise OAuthError("reading your account: the server's answer has no username")
    username = str(data["username"])
    if not USERNAME_RE.match(username):
        raise OAuthError("reading your account: the server's answer is not a Mastodon username")
    return f"{username}@{httpx.URL(api_base_url).netloc.decode()}"
