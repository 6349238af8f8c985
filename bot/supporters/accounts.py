"""Supporters as accounts of the outbox: ``supporter:<id>`` in the account directory.

The directory (bot/accounts.py) asks ``lookup`` about any id that is not in the config; for a connected
supporter it answers the network's settings (the instance, the handle) and ``SupporterSecrets``, which
decrypts the token from the database each time an adapter builds a client, so a disconnect takes effect
at once: afterwards the secret cannot be read and nothing is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker

from bot.networks.base import AccountStore
from bot.networks.registry import account_settings_model
from bot.networks.secrets import Secrets, SecretUnreadable
from bot.networks.settings import AccountSettings, Reach
from bot.store.raw import Raw
from bot.store.supporters import SupporterRow
from bot.supporters import service
from bot.supporters.crypto import KEY_ENV, Cipher, SecretKeyError, cipher_from_env, require_cipher

if TYPE_CHECKING:
    from bot.accounts.directory import AccountDirectory

AccountLookup = Callable[[str], tuple[AccountSettings, Secrets] | None]
TOKEN = "access_token"
APP_PASSWORD = "app_password"


class SupporterSecrets:
    """The Secrets protocol over a supporter's encrypted credentials, as read with the supporter (no database
    access here: an adapter reads its secret while its worker holds a connection). Decrypted on each read."""

    def __init__(self, supporter_id: int, encrypted: str | None,
                 cipher: Callable[[], Cipher] = require_cipher) -> None:
        self.supporter_id = supporter_id
        self._encrypted = encrypted
        self.cipher = cipher

    def read(self, name: str) -> str:
        if not self._encrypted:
            raise SecretUnreadable(f"supporter {self.supporter_id} is disconnected: no {name} stored")
        try:
            values = service.decrypt_credentials(self.cipher(), self._encrypted)
        except SecretKeyError as exc:
            raise SecretUnreadable(f"supporter {self.supporter_id}: {exc}") from None
        value = values.get(name)
        if not value:
            raise SecretUnreadable(f"supporter {self.supporter_id}: no {name} stored")
        return value

    def wrap_store(self, store: AccountStore) -> AccountStore:
        """The adapter's saved state (a Bluesky session holds tokens) is encrypted too."""
        return EncryptedStore(store, self.cipher)


class EncryptedStore:
    """An AccountStore whose values are kept as Fernet tokens."""

    def __init__(self, inner: AccountStore, cipher: Callable[[], Cipher]) -> None:
        self.inner = inner
        self.cipher = cipher

    def load(self, field: str) -> dict[str, Any] | None:
        stored = self.inner.load(field)
        if not stored or "encrypted" not in stored:
            return None
        try:
            value: dict[str, Any] = json.loads(self.cipher().decrypt(stored["encrypted"]))
        except SecretKeyError:
            return None  # a session the key cannot read is no session: the adapter logs in again
        return value

    def save(self, field: str, value: dict[str, Any] | None) -> None:
        self.inner.save(field, None if value is None else
                        {"encrypted": self.cipher().encrypt(json.dumps(value, sort_keys=True))})


def reach_of(local_servers: bool) -> Reach:
    """Supporters' servers are someone else's choice: public addresses only, unless `[amplify] local_servers`."""
    return Reach.LOCAL if local_servers else Reach.PUBLIC


def settings_for(network: str, api_base_url: str | None, handle: str | None,
                 reach: Reach = Reach.PUBLIC) -> AccountSettings:
    """The adapter settings of a supporter's account (its secrets are named, never held, here). Every connection
    to their server is checked (``reach``): bot/networks/outbound.py."""
    model = account_settings_model(network)
    if network == "mastodon":
        return model.model_validate({"network": "mastodon", "api_base_url": api_base_url,
                                     "access_token_env": TOKEN, "reach": str(reach)})
    return model.model_validate({"network": "bluesky", "handle": handle, "app_password_env": APP_PASSWORD,
                                 "service_url": api_base_url or "https://bsky.social", "reach": str(reach)})


def _account(row: Any, reach: Reach) -> tuple[AccountSettings, Secrets]:
    """``row``: a SupporterRow, or a row of its id, network, api_base_url, handle and credentials."""
    return settings_for(row.network, row.api_base_url, row.handle, reach), SupporterSecrets(row.id, row.credentials)


def lookup(sessions: sessionmaker[Session], reach: Reach = Reach.PUBLIC) -> AccountLookup:
    """The directory's lookup for supporters' accounts: None for any other id, or a disconnected supporter.
    A supporter's credentials never change (connecting again makes a new supporter), so what is read stays true
    until a disconnect, after which nothing is planned for them."""

    def find(account_id: str) -> tuple[AccountSettings, Secrets] | None:
        supporter_id = service.supporter_id_of(account_id)
        if supporter_id is None:
            return None
        with sessions() as session:
            row = session.get(SupporterRow, supporter_id)
            if row is None or row.state != service.CONNECTED:
                return None
            return _account(row, reach)

    return find


def _account_of(reach: Reach, row: tuple[Any, ...]) -> tuple[AccountSettings, Secrets]:
    """``row``: (id, network, api_base_url, handle, credentials), as remember_connected reads it."""
    supporter_id, network, api_base_url, handle, credentials = row
    return settings_for(network, api_base_url, handle, reach), SupporterSecrets(supporter_id, credentials)


_BUILD = {r: partial(_account_of, r) for r in Reach}
"""One builder per reach, the same object at every tick (the directory keeps the rows of each builder together)."""


_CONNECTED_AFTER = Raw(text("SELECT id, network, api_base_url, handle, credentials FROM supporters"
                           " WHERE state = :b_state AND id > :b_after ORDER BY id"))
"""Plain SQL on the driver's cursor: its rows come back as the driver's tuples (a SQLAlchemy result of 100,000
rows, turned into tuples, cost about three times the statement's own client CPU)."""
_ANY_CONNECTED = Raw(text("SELECT 1 FROM supporters WHERE state = :b_state LIMIT 1"))


def remember_connected(accounts: AccountDirectory, conn: Connection, after_id: int,
                       reach: Reach) -> tuple[int, int] | None:
    """Remember the connected supporters numbered after ``after_id`` (the newest one read before), read in one
    query on ``conn``; each one's settings and secrets are built from its row when it first boosts
    (AccountDirectory.remember_lazily). A supporter's row never changes while it is connected (connecting
    again makes a new supporter), so what was read once is never read again, and a wave of supporters read
    before needs no read at all. Returns the newest id read (``after_id`` when none is new) and how many were
    new to the directory, or None when no supporter is connected (one statement: an idle worker's whole cost)."""
    rows = _CONNECTED_AFTER.all(conn, {"b_state": service.CONNECTED, "b_after": after_id})
    if not rows:
        return (after_id, 0) if after_id and _ANY_CONNECTED.all(conn, {"b_state": service.CONNECTED}) else None
    prefix = service.ACCOUNT_PREFIX
    return int(rows[-1][0]), accounts.remember_lazily({f"{prefix}{row[0]}": row for row in rows}, _BUILD[reach])


def check_key(sessions: sessionmaker[Session]) -> None:
    """Starting the worker or the web app: with supporters' secrets stored, the key must be set and valid.
    Raises SecretKeyError (one line)."""
    with sessions() as session:
        if not service.supporters_exist(session):
            cipher_from_env()  # a malformed key is an error even before it is needed
            return
        cipher = cipher_from_env()
        if cipher is None:
            raise SecretKeyError(f"${KEY_ENV} is not set, and the database holds supporters' encrypted tokens: "
                                 "set it to the key they were encrypted with")
        service.check_decrypts(session, cipher)


def revoked(sessions: sessionmaker[Session], now: datetime) -> int:
    """Disconnect the supporters whose grant the network refused (the dispatcher disabled their account after
    a 401): their tokens are deleted and their planned boosts cancelled. Returns how many."""
    from bot.outbox.amplify import refused_accounts

    with sessions.begin() as session:
        refused = refused_accounts(session.connection(), service.ACCOUNT_PREFIX)
        count = 0
        for account_id, reason in refused:
            supporter_id = service.supporter_id_of(account_id)
            supporter = service.by_id(session, supporter_id) if supporter_id is not None else None
            if supporter is None or not supporter.connected:
                continue
            service.disconnect(session, supporter.id, now, f"the network refused the grant: {reason}",
                               actor="campaign-bot")
            count += 1
    return count



class GivenSecrets:
    """Secrets held for one call (checking a token before it is stored); never logged."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def read(self, name: str) -> str:
        if name not in self._values:
            raise SecretUnreadable(f"no {name} given")
        return self._values[name]


def verify(network: str, api_base_url: str | None, handle: str | None, credentials: dict[str, str],
           reach: Reach = Reach.PUBLIC) -> str:
    """Ask the network who these credentials belong to (before storing them): the account's handle.
    Raises bot.networks.base.NetworkError (AuthRevoked for a refused token)."""
    from bot.networks.base import MemoryStore
    from bot.networks.registry import network_class

    settings = settings_for(network, api_base_url, handle, reach)
    adapter = network_class(network)("supporter-check", settings, MemoryStore(), GivenSecrets(credentials))
    return adapter.check().handle.lstrip("@")
