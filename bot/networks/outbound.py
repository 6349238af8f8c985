"""Outgoing HTTP to servers a supporter names: only public addresses, checked when each connection is made.

A Mastodon instance, a Bluesky PDS or an OAuth endpoint named by someone outside the organisation must never
lead our server into its own network (127.0.0.1, 169.254.169.254, 10/8, fd00::/8...). Checking the typed name
once is not enough: a redirect, an endpoint the server's metadata names, or a second DNS answer (rebinding)
would reach what the check refused. So the check sits where the socket is opened, for every connection:

- httpx (our OAuth calls, atproto): ``PublicOnlyTransport``, an httpcore network backend that resolves the name
  once, refuses it if ANY address is not public, and dials the checked address (no second lookup; TLS and the
  Host header still use the name);
- requests (Mastodon.py): ``outbound_requests.session()``, a urllib3 connection class doing the same in ``_new_conn``.

Neither uses a proxy from the environment (a proxy would resolve the name itself). ``Reach.LOCAL`` also lets
loopback through: only for development and tests, by an explicit setting (``[amplify] allow_local_servers``),
never because of anything in a request.

The private names used (httpx's ``_pool``, urllib3's ``_new_conn``/``_dns_host``) are pinned by the version
bounds in pyproject.toml, and tests/test_outbound.py fails if they change shape.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from bot.networks.settings import Reach

__all__ = ["Reach"]  # its home is bot/networks/settings.py (no httpx to load for it)

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
TIMEOUT = 15.0
_V6_NEVER = [ipaddress.ip_network(n) for n in (
    "::/96",            # IPv4-compatible (deprecated): ::127.0.0.1 counts as "global" in Python 3.11
    "2002::/16",        # 6to4: embeds any IPv4 address
    "2001::/32",        # Teredo
    "64:ff9b:1::/48",   # local-use NAT64 (RFC 8215)
    "5f00::/16",        # SRv6 SIDs
    "3fff::/20",        # documentation (RFC 9637), "global" in older Pythons
)]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_NEVER = [ipaddress.ip_network(n) for n in ("192.88.99.0/24", "100.64.0.0/10", "192.0.0.0/24")]


class NotPublic(httpx.ConnectError):
    """The name leads to an address inside a private, local or special-purpose range."""


def is_public(ip: IP) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if ip in _NAT64:  # well-known NAT64: judge the IPv4 address inside
            return is_public(ipaddress.IPv4Address(ip.packed[-4:]))
        if any(ip in n for n in _V6_NEVER):
            return False
    elif any(ip in n for n in _V4_NEVER):
        return False
    return ip.is_global and not ip.is_multicast


def allowed(ip: IP, reach: Reach) -> bool:
    return is_public(ip) or (reach is Reach.LOCAL and ip.is_loopback)


def public_addresses(host: str, port: int, reach: Reach = Reach.PUBLIC) -> list[str]:
    """Every address the name resolves to, each checked; refuses the name if ANY is not allowed (so a mixed
    answer cannot slip a private address in)."""
    try:
        infos = [str(ipaddress.ip_address(host.strip("[]").split("%")[0]))]
    except ValueError:
        try:
            infos = [str(i[4][0]) for i in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
        except (OSError, UnicodeError) as exc:
            raise httpx.ConnectError(f"cannot resolve {host}") from exc
    checked: list[str] = []
    for raw in dict.fromkeys(infos):
        ip = ipaddress.ip_address(raw.split("%")[0])
        if not allowed(ip, reach):
            raise NotPublic(f"{host} leads to a non-public address")
        checked.append(str(ip))
    if not checked:
        raise httpx.ConnectError(f"{host} has no address")
    return checked


class PublicOnlyBackend(httpcore.NetworkBackend):
    """Resolve once, check, dial the checked address."""

    def __init__(self, reach: Reach = Reach.PUBLIC, inner: httpcore.NetworkBackend | None = None) -> None:
        self.inner = inner or httpcore.SyncBackend()
        self.reach = reach

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in public_addresses(host, port, self.reach):
            try:
                return self.inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                              socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc  # the next checked address (IPv6, then IPv4)
        raise last or httpcore.ConnectError(f"cannot connect to {host}")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class PublicOnlyTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection goes through PublicOnlyBackend, never through a proxy."""

    def __init__(self, reach: Reach = Reach.PUBLIC, *, backend: httpcore.NetworkBackend | None = None,
                 verify: bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        old = self._pool
        if not isinstance(old, httpcore.ConnectionPool):  # httpx changed: this module must be looked at again
            raise TypeError("httpx's transport no longer holds an httpcore.ConnectionPool")
        # httpx 0.28 has no public parameter for the network backend: replace the pool it made.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(verify=verify), retries=0,
                                             http1=True, http2=False,
                                             network_backend=PublicOnlyBackend(reach, backend))
        old.close()


def public_client(reach: Reach = Reach.PUBLIC, *, timeout: float = TIMEOUT, **kwargs: Any) -> httpx.Client:
    return httpx.Client(transport=PublicOnlyTransport(reach), timeout=timeout, trust_env=False, **kwargs)

