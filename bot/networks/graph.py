"""Meta's Graph API over HTTP (httpx), for the Threads and Facebook Page adapters: the one place their requests
are made, and where the Graph error envelope is read and classified.

An error answers ``{"error": {"message", "type", "code", "error_subcode", "is_transient", "fbtrace_id"}}``
(developers.facebook.com/docs/graph-api/guides/error-handling; Threads answers the same envelope, with type
OAuthException or THApiException). The access token goes as the ``access_token`` parameter, as both services
document it: in the form body of a POST, in the query of a GET (so the httpx logger is kept below INFO by the
CLI). A message built here never quotes the token, the URL or the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.networks.base import AuthRevoked, OutcomeUnknown, PermanentError, RateLimited, TransientError

AUTH_CODES = frozenset({102, 190, 10})
"""The token expired, was revoked, or lacks a permission (10, and 200-299): a person must fix the account."""
RATE_CODES = frozenset({4, 17, 32, 341, 613, 80001, 80002, 80004, 80005, 80006, 80008, 80014})
"""Application, user, Page and business-use-case throttling."""
TRANSIENT_CODES = frozenset({1, 2})
"""API Unknown and API Service: "a temporary issue due to downtime. Wait and retry the operation."""
NOT_READY = (24, 4279009)
"""Threads' "Media Not Found" when a container is published before it is processed: nothing was published."""
if TYPE_CHECKING:
    import httpx

RATE_FALLBACK = timedelta(minutes=15)
"""How long to wait after a throttling error that says nothing of when it ends."""


def not_sent() -> tuple[type[Exception], ...]:
    """Transport failures that prove the request never reached the service."""
    import httpx

    return httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol


class GraphFailure:
    """An error answer, parsed; ``classify`` turns it into one of our NetworkErrors."""

    def __init__(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        assert isinstance(error, dict)
        self.status = status
        self.code: int | None = _int(error.get("code"))
        self.subcode: int | None = _int(error.get("error_subcode"))
        self.message = str(error.get("error_user_msg") or error.get("message") or f"HTTP {status}")
        self.transient = bool(error.get("is_transient"))
        self.headers = {k.lower(): v for k, v in headers.items()}

    def describe(self) -> str:
        code = "" if self.code is None else f" (code {self.code}{f'/{self.subcode}' if self.subcode else ''})"
        return f"{self.message}{code}"

    def classify(self, service: str, *, effect: bool, now: datetime | None = None) -> Exception:
        """``effect``: the request may have had a public effect (a publish), so a server error leaves its
        outcome unknown; without one, any server error is worth a retry."""
        code = self.code
        if (code, self.subcode) == NOT_READY:
            return TransientError(f"{service}: the container is not ready to publish yet: {self.describe()}")
        if code in AUTH_CODES or (code is not None and 200 <= code <= 299) or self.status == 401:
            return AuthRevoked(f"{service} refused the access token or its permissions: {self.describe()}")
        if code in RATE_CODES or self.status == 429:
            return RateLimited(f"{service} rate limit: {self.describe()}", self.retry_at(now or _now()))
        if code in TRANSIENT_CODES or self.transient:  # the service itself says: wait and retry
            return TransientError(f"{service} is temporarily unavailable: {self.describe()}")
        if self.status >= 500:  # no word from the service (a proxy's 502, a crash): it may have posted
            if effect:
                return OutcomeUnknown(f"{service} answered {self.status} after the request was sent; the post "
                                      f"may or may not exist: {self.describe()}")
            return TransientError(f"{service} server error: {self.describe()}")
        return PermanentError(f"{service} refused the request: {self.describe()}")

    def retry_at(self, now: datetime) -> datetime:
        """When the throttling ends: the longest ``estimated_time_to_regain_access`` (minutes) in the usage
        headers (X-Business-Use-Case-Usage, X-Page-Usage, X-App-Usage), else RATE_FALLBACK from now."""
        minutes = 0
        for name in ("x-business-use-case-usage", "x-page-usage", "x-app-usage", "x-ad-account-usage"):
            minutes = max(minutes, _regain_minutes(self.headers.get(name)))
        return now + (timedelta(minutes=minutes) if minutes else RATE_FALLBACK)


class Graph:
    """Requests to one Graph host (``base_url`` holds the version: https://graph.facebook.com/v27.0)."""

    def __init__(self, service: str, base_url: str, token: Callable[[], str], timeout: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.transport = transport

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Read; reading changes nothing, so every failure short of a refusal is worth a retry."""
        return self.request("GET", path, params=dict(params or {}), effect=False)

    def post(self, path: str, data: Mapping[str, Any], files: Mapping[str, Any] | None = None, *,
             effect: bool) -> dict[str, Any]:
        """Write; ``effect``: what this request does is public (a publish), so a lost answer is an unknown
        outcome; without one (a container, an unpublished photo) it is worth a retry."""
        return self.request("POST", path, data=dict(data), files=files, effect=effect)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                data: dict[str, Any] | None = None, files: Mapping[str, Any] | None = None,
                effect: bool) -> dict[str, Any]:
        token = self.token()  # read now (a fixed variable works at once); Misconfigured when it cannot be
        if method == "GET":
            params = {**(params or {}), "access_token": token}
        else:
            data = {**(data or {}), "access_token": token}
        url = f"{self.base_url}/{path.lstrip('/')}"
        import httpx  # loaded with the first request, not when the adapters are listed at start

        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport, follow_redirects=False,
                              headers={"User-Agent": "campaign-bot"}) as client:
                response = client.request(method, url, params=params, data=data, files=files)
        except not_sent() as exc:
            raise TransientError(f"could not connect to {self.service}: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            if effect:
                raise OutcomeUnknown(f"{self.service} did not answer ({type(exc).__name__}) after the request "
                                     "was sent; the post may or may not exist") from None
            raise TransientError(f"{self.service} did not answer: {type(exc).__name__}") from None
        body = _json(response)
        if response.is_success and "error" not in body:
            return body
        raise GraphFailure(response.status_code, body, dict(response.headers)).classify(self.service, effect=effect)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {"data": body}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _regain_minutes(header: str | None) -> int:
    """The largest estimated_time_to_regain_access in a usage header (a JSON object or list of them)."""
    if not header:
        return 0
    try:
        parsed = json.loads(header)
    except json.JSONDecodeError:
        return 0
    found = 0
    stack: list[Any] = [parsed]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found = max(found, _int(item.get("estimated_time_to_regain_access")) or 0)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def parse_time(value: Any) -> datetime | None:
    """A Graph time as Threads and Facebook write it: 2026-11-30T14:00:00+0000."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def _now() -> datetime:
    return datetime.now(UTC)
