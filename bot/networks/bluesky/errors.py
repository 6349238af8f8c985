"""Reading an XRPC error the atproto client raised: which kind of failure it is (bot/networks/bluesky/adapter.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.networks.base import AuthRevoked, OutcomeUnknown, PermanentError, RateLimited, TransientError

if TYPE_CHECKING:
    from atproto_client.exceptions import RequestErrorBase


def session_dead(exc: RequestErrorBase) -> bool:
    """401, or the 400 ExpiredToken/InvalidToken a PDS answers to a stale refresh token."""
    from atproto_client.exceptions import UnauthorizedError

    if isinstance(exc, UnauthorizedError):
        return True
    return error_name(exc) in ("ExpiredToken", "InvalidToken")


def error_name(exc: RequestErrorBase) -> str | None:
    """The XRPC error name the server answered with (``RecordNotFound``, ``InternalServerError``...)."""
    content = getattr(exc.response, "content", None)
    name = getattr(content, "error", None)
    return str(name) if name else None


def rate_limited(exc: RequestErrorBase) -> bool:
    from atproto_client.exceptions import RateLimitExceededError

    return isinstance(exc, RateLimitExceededError)


def classify(exc: Exception, handle: str, timeout: float) -> Exception:
    """What an atproto or httpx error means for a post (``handle``, ``timeout``: for the message)."""
    import httpx
    from atproto_client.exceptions import (
        BadRequestError,
        InvokeTimeoutError,
        LoginRequiredError,
        NetworkError,
        RateLimitExceededError,
        RequestErrorBase,
        UnauthorizedError,
    )

    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return TransientError(f"could not connect to Bluesky: {type(exc).__name__}")
    if isinstance(exc, httpx.TransportError):  # atproto passes these through: the request may have arrived
        return OutcomeUnknown(f"Bluesky did not answer after the request was sent ({type(exc).__name__})")
    if isinstance(exc, RateLimitExceededError):
        return RateLimited(f"Bluesky rate limit: {exc}", exc.reset_at)
    if isinstance(exc, UnauthorizedError | LoginRequiredError):
        return AuthRevoked(f"Bluesky refused the session for {handle}: {exc}")
    if isinstance(exc, InvokeTimeoutError):
        return OutcomeUnknown(f"Bluesky did not answer in {timeout:.0f}s")
    if isinstance(exc, NetworkError):
        return TransientError(f"network error talking to Bluesky: {exc}")
    if isinstance(exc, BadRequestError):
        return PermanentError(f"Bluesky refused the post: {exc}")
    if isinstance(exc, RequestErrorBase):  # a 5xx: the adapter read the record back and did not find it
        return TransientError(f"Bluesky server error: {exc}")
    return TransientError(f"atproto: {exc}")
