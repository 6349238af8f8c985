"""Sending one message to one destination. The only module that imports Apprise to send.

As in healthchecks (hc/api/transports.py): ``notify`` returns, or raises TransportError. Apprise reports a
failure as a false result and log lines; we capture those lines for the reason, and take out of it every
part of the URL that may be a credential, so the reason can be stored and shown.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.config.alerts import Destination, load_apprise

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
"""Short: an alert service that hangs must not hold the alert thread (posting never waits for it anyway)."""


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message, self.permanent = message, permanent


class Transport(Protocol):
    def notify(self, destination: Destination, title: str, body: str) -> None:
        """Deliver one message; raise TransportError (with a message free of secrets) when it did not go."""
        ...


def secret_parts(url: str) -> list[str]:
    """The parts of a URL that may be credentials: user, password, path segments, query values."""
    try:
        split = urlsplit(url)
    except ValueError:
        return [url]
    parts = [split.username or "", split.password or ""]
    parts += [unquote(seg) for seg in split.path.split("/")]
    parts += [v for _k, v in parse_qsl(split.query)]
    if "@" in split.netloc:
        parts.append(split.netloc.rsplit("@", 1)[0])
    return sorted({p for p in parts if len(p) >= 4}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    for part in secret_parts(url):
        text = text.replace(part, "***")
    return text


def _reason(log_text: str, url: str) -> str:
    lines = [re.sub(r"^\S+ \S+ - \w+ - ", "", line).strip() for line in log_text.splitlines() if line.strip()]
    reason = "; ".join(dict.fromkeys(lines)) or "the service did not accept it"
    return scrub(reason, url)[:500]


class AppriseTransport:
    def notify(self, destination: Destination, title: str, body: str) -> None:
        apprise = load_apprise()
        plugin = apprise.Apprise.instantiate(destination.url)
        if plugin is None:
            raise TransportError("not a URL Apprise can send to", permanent=True)
        # Apprise's own defaults are 4 s to connect but 15 s for e-mail and no read timeout for some services.
        plugin.socket_connect_timeout = min(plugin.socket_connect_timeout or CONNECT_TIMEOUT, CONNECT_TIMEOUT)
        plugin.socket_read_timeout = min(plugin.socket_read_timeout or READ_TIMEOUT, READ_TIMEOUT)
        sender = apprise.Apprise()
        sender.add(plugin)
        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = sender.notify(title=title, body=body)
        if not ok:
            raise TransportError(_reason(captured.getvalue(), destination.url))
