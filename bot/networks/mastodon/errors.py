"""How a Mastodon.py error is classified: what the dispatcher does with it depends on it (a retry, a hold on
the account, a person asked), so this is where "did the post reach the server?" is decided."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.networks.base import AuthRevoked, OutcomeUnknown, PermanentError, RateLimited, TransientError

if TYPE_CHECKING:
    from mastodon.errors import MastodonError


UNREADABLE = "Could not parse response as JSON"
"""How Mastodon.py's error for an answer that is not JSON begins (raised only after a success code;
tests/test_recordings.py pins it to the installed version)."""


def classify(exc: MastodonError, ratelimit_reset: float | None, timeout: float) -> Exception:
    """``ratelimit_reset``: when the client's rate limit resets (Mastodon.py's ratelimit_reset); ``timeout``: the
    request timeout, for the message."""
    from mastodon.errors import (
        MastodonAPIError,
        MastodonIllegalArgumentError,
        MastodonIOError,
        MastodonNetworkError,
        MastodonNotFoundError,
        MastodonRatelimitError,
        MastodonReadTimeout,
        MastodonServerError,
        MastodonUnauthorizedError,
    )

    if isinstance(exc, MastodonRatelimitError):
        until = datetime.fromtimestamp(ratelimit_reset, UTC) if ratelimit_reset else None
        return RateLimited(f"Mastodon rate limit: {exc}", until)
    if isinstance(exc, MastodonUnauthorizedError):
        return AuthRevoked(f"Mastodon refused the access token: {api_message(exc)}")
    if isinstance(exc, MastodonReadTimeout):
        return OutcomeUnknown(f"Mastodon did not answer in {timeout:.0f}s")
    if isinstance(exc, MastodonNetworkError):
        if never_sent(exc):
            return TransientError(f"could not connect to Mastodon: {exc}")
        return OutcomeUnknown(f"Mastodon did not answer after the request was sent: {exc}")
    if isinstance(exc, MastodonServerError):
        code = exc.args[1] if len(exc.args) > 1 else None
        if code == 503:  # the proxy found no server to ask: nothing was created
            return TransientError(f"Mastodon server unavailable: {api_message(exc)}")
        # 500, 502, 504: Rails may have created the status before failing (or while the proxy gave up on it)
        return OutcomeUnknown(f"Mastodon server error, the post may have been created: {api_message(exc)}")
    if isinstance(exc, MastodonNotFoundError):
        return PermanentError(f"Mastodon: not found (the post replied to may be deleted): {api_message(exc)}")
    if isinstance(exc, MastodonAPIError) and str(exc.args[0] if exc.args else "").startswith(UNREADABLE):
        # Raised for an answer that came with a success code: the status may well have been created
        return OutcomeUnknown(f"Mastodon accepted the request but its answer could not be read: {exc.args[0]}")
    if isinstance(exc, MastodonAPIError):
        code = exc.args[1] if len(exc.args) > 1 else None
        if code == 403:
            return AuthRevoked(f"Mastodon forbids this account to post: {api_message(exc)}")
        if code == 429:
            return RateLimited(f"Mastodon rate limit: {api_message(exc)}", None)
        return PermanentError(f"Mastodon refused the post: {api_message(exc)}")
    if isinstance(exc, MastodonIllegalArgumentError | MastodonIOError):
        return PermanentError(f"Mastodon.py: {exc}")
    return TransientError(f"Mastodon.py: {exc}")


def api_message(exc: MastodonError) -> str:
    # MastodonAPIError args: (message, status code, reason, error text from the server)
    args = [a for a in exc.args if a]
    if len(exc.args) >= 4 and exc.args[3]:
        return f"{exc.args[1]} {exc.args[3]}"
    return " ".join(str(a) for a in args[1:]) or str(exc)


def never_sent(exc: BaseException) -> bool:
    """Whether the cause chain shows the connection was never made (so the server cannot have the post)."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if isinstance(seen, requests.ConnectTimeout | NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(seen, requests.ConnectionError):
            inner = seen.args[0] if seen.args else None
            if isinstance(getattr(inner, "reason", None), NewConnectionError | ConnectTimeoutError):
                return True
        seen = seen.__cause__ or seen.__context__
    return False
