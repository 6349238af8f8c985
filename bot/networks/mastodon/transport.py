"""How the Mastodon adapter (bot/networks/mastodon/adapter.py, the only module that imports Mastodon.py) talks
HTTP: the requests session for a server someone outside the organisation named, the environment's proxy and
certificate settings read once, and a request whose answer is left as the JSON it is."""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any


def public_session(reach: str) -> Any:
    from bot.networks.outbound import Reach
    from bot.networks.outbound_requests import session

    return session(Reach(reach))


def environment_once(session: Any, url: str) -> None:
    """requests reads the proxy and certificate settings from the environment on every request, walking the
    whole environment each time (a third of a post's CPU in Mastodon.py with a large environment); a worker's
    environment does not change while it runs: they are read once, for the server's address, here."""
    import requests

    if not session.trust_env:
        return
    for scheme, proxy in requests.utils.get_environ_proxies(url).items():  # NO_PROXY already applied
        session.proxies.setdefault(scheme, proxy)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


@functools.cache
def _takes_override_type(cls: type) -> bool:
    """Whether this Mastodon.py's request takes the arguments `untyped_post` gives it (a private method: an
    upgrade that changes it sends posts and boosts through the public ones, before anything is sent)."""
    try:
        params = inspect.signature(cls._Mastodon__api_request).parameters  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return False
    return {"method", "endpoint", "params", "headers", "override_type"} <= set(params)


def form(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields as Mastodon.py's own methods send them (its __generate_params, for a form): a field that is None
    left out, a boolean as '1' or '0', a list as ``name[]``."""
    out = {name: ("1" if value else "0") if isinstance(value, bool) else value
           for name, value in fields.items() if value is not None and not isinstance(value, list)}
    out.update((f"{name}[]", value) for name, value in fields.items() if isinstance(value, list))  # after, as there
    return out


def untyped_post(client: Any, endpoint: str, fields: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> dict[str, Any] | None:
    """POST ``fields`` (as a form, ``form``) to ``endpoint`` through Mastodon.py's own request (its token, error
    classes and rate limit reading, as status_post and status_reblog do), the answer left as the JSON object it
    is: turning a status into Mastodon.py's typed entities costs about 0.7-1.4 ms of CPU, more than all the rest
    of a post or a boost, and we read two fields of it. None when this Mastodon.py has no such request (then
    the caller uses its public method; tests/test_supporters_boost.py and tests/test_recordings.py say which one
    the installed version takes)."""
    request = getattr(client, "_Mastodon__api_request", None)
    if request is None or not _takes_override_type(client.__class__):
        return None
    answer = request("POST", endpoint, form(fields or {}), headers=headers or {}, override_type=Answer)
    return dict(answer) if isinstance(answer, dict) else {}


class Answer(dict[str, Any]):
    """An answer as its JSON object. A dict subclass, not a dict: Mastodon.py sets an attribute on the answer
    when the server sends a Mastodon-Async-Refresh header, which a plain dict refuses (an AttributeError after
    the status was made)."""
