"""Reading an XRPC error the atproto client raised: which kind of failure it is (bot/networks/bluesky.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
