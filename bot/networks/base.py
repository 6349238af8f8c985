"""The interface every network adapter implements, and the classified errors it may raise.

The dispatcher handles each error class once (bot/dispatch.py); an adapter's only job is to say which
class a failure belongs to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

from bot.networks.secrets import EnvSecrets, Secrets, SecretUnreadable
from bot.networks.settings import AccountSettings


class NetworkError(Exception):
    """Base of the classified errors. ``str(exc)`` must never contain a secret."""


class TransientError(NetworkError):
    """Worth retrying later: 5xx, network error, timeout before the request was sent."""


class RateLimited(NetworkError):
    def __init__(self, message: str, until: datetime | None) -> None:
        super().__init__(message)
        self.until = until


class PermanentError(NetworkError):
    """The network refused this post and will refuse it again (validation, duplicate, too long)."""


class AuthRevoked(NetworkError):
    """The credentials no longer work: the account is disabled until a person fixes it."""


class OutcomeUnknown(NetworkError):
    """The request may have reached the network, and we do not know whether the post exists."""


class Misconfigured(NetworkError):
    """A credential of the account could not be read (missing variable or file)."""


@dataclass(frozen=True)
class Media:
    path: Path
    alt: str


def read_image(path: Path) -> bytes:
    """An image's bytes, read before anything is sent: a file that cannot be read fails the post for good."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PermanentError(f"cannot read image {path.name}: {exc.strerror}") from None


@dataclass(frozen=True)
class ThreadRef:
    """Where a reply goes: the post replied to, and the root of its thread (Bluesky needs both)."""

    remote_id: str
    ref: dict[str, Any] = field(default_factory=dict)
    root_id: str | None = None
    root_ref: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Post:
    delivery_id: int
    idempotency_key: str
    text: str
    language: str
    in_reply_to: ThreadRef | None = None
    media: tuple[Media, ...] = ()
    scheduled_at: datetime | None = None
    attempt: int = 1
    """1 for the first try; more when an earlier attempt may have been sent (Bluesky then reads back first)."""
    taken: frozenset[str] = frozenset()
    """Remote ids already recorded for other posts of this account: reading back, a post of the same text that
    is one of these is another delivery's, never this one's (two posts of one text would otherwise both claim
    the first, and the second, never sent, would be recorded as sent)."""


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str | None
    ref: dict[str, Any] = field(default_factory=dict)
    """Anything else needed to reply to this post later (Bluesky: uri and cid)."""


@dataclass(frozen=True)
class ReadBack:
    """What reading an account back says of a post whose outcome is unknown."""

    published: Published | None
    certain: bool
    """Nothing was found, and the network says so for sure: the post does not exist (sending it again cannot
    make a second one). False: it cannot tell."""

    @property
    def absent(self) -> bool:
        return self.published is None and self.certain


CANNOT_TELL = ReadBack(None, False)


@dataclass(frozen=True)
class AccountInfo:
    handle: str
    url: str | None
    limits: dict[str, Any] = field(default_factory=dict)


class AccountStore(Protocol):
    """Small per-account state an adapter keeps between runs (a Bluesky session, a Mastodon instance's
    limits). bot/account_state.py keeps it in the database; tests may keep it in a dict."""

    def load(self, field: str) -> dict[str, Any] | None: ...

    def save(self, field: str, value: dict[str, Any] | None) -> None: ...


class MemoryStore:
    """An AccountStore in memory: for one-off adapters (checks, tests) with no database."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any] | None] = {}

    def load(self, field: str) -> dict[str, Any] | None:
        return self.values.get(field)

    def save(self, field: str, value: dict[str, Any] | None) -> None:
        self.values[field] = value


class Booster(ABC):
    """A network on which a supporter's own account boosts the organisation's posts (a reblog, a repost) and
    takes the boost back when asked. An adapter declares it by subclassing; the registry advertises it."""

    @abstractmethod
    def boost(self, post: Post) -> Published:
        """Boost what ``post.text`` names (the organisation post's URL or reference); never twice."""

    @abstractmethod
    def unboost(self, post: Post) -> Published:
        """Take the boost back (done if it was never there)."""

    def find_boost(self, post: Post) -> Published | None:
        """The account's boost of what ``post.text`` names, if it exists (read back after a crash)."""
        return None

    def boost_absence_certain(self) -> bool:
        """Whether find_boost finding nothing means the boost surely does not exist."""
        return False

    def read_back_boost(self, post: Post) -> ReadBack:
        found = self.find_boost(post)
        return ReadBack(found, found is not None or self.boost_absence_certain())


class NetworkLookup(Protocol):
    """The adapter that posts for an account (bot.bootstrap's App builds them once and keeps them)."""

    def network(self, account_id: str) -> Network: ...


class Network(ABC):
    """One account on one network."""

    kind: ClassVar[str]
    settings_model: ClassVar[type[AccountSettings]] = AccountSettings
    idempotent: ClassVar[bool] = False
    """True when retrying a post whose outcome is unknown cannot make a duplicate."""
    key_memory: ClassVar[timedelta | None] = None
    """How long after a post's first attempt the network still knows its idempotency key (None: for as long as
    it matters, or not idempotent). A retry later than that may post again: the worker reads the account back
    first (bot/worker/dispatch.py)."""
    max_length: ClassVar[int] = 500
    carries_alt_text: ClassVar[bool] = True
    """False where the network has no place for an image's description (Telegram's Bot API)."""

    def __init__(self, account_id: str, settings: AccountSettings, store: AccountStore | None = None,
                 secrets: Secrets | None = None) -> None:
        self.account_id = account_id
        self.settings = settings
        self.store: AccountStore = store if store is not None else MemoryStore()
        self.secrets: Secrets = secrets if secrets is not None else EnvSecrets(account_id)

    def secret(self, name: str) -> str:
        """Read a secret now (never cached here, so a fixed variable works again); raises Misconfigured."""
        try:
            return self.secrets.read(name)
        except SecretUnreadable as exc:
            raise Misconfigured(str(exc)) from None

    @classmethod
    def measure(cls, text: str) -> int:
        """The length of ``text`` as this network counts it."""
        return len(text)

    def limit(self) -> int:
        """The maximum length for this account (may depend on the server)."""
        return self.max_length

    def length(self, text: str) -> int:
        """The length of ``text`` for this account (may depend on the server's rules)."""
        return self.measure(text)

    @property
    def measured_as(self) -> str | None:
        """The network whose ``measure`` gives this account's ``length``: a length stored for that network
        (measured when the post was planned) is this account's, and a send need not measure again. None when no
        stored length can be trusted: an adapter that counts its own way says which, or none."""
        return self.kind if type(self).length is Network.length else None

    @classmethod
    def text_problem(cls, text: str) -> str | None:
        """Anything besides length that makes this network refuse ``text``."""
        return None

    @classmethod
    def text_warning(cls, text: str) -> str | None:
        """Something the network does to ``text`` that its author may not expect (it still posts)."""
        return None

    @classmethod
    def media_text_limit(cls) -> int | None:
        """The limit of a text posted with an image, where it differs from ``max_length`` (a caption)."""
        return None

    @classmethod
    def media_problem(cls, settings: AccountSettings) -> str | None:
        """Why this account cannot post images, or None when it can (checked by `validate`)."""
        return None

    @abstractmethod
    def publish(self, post: Post) -> Published:
        """Post and return its remote id and URL, or raise one of the NetworkError classes."""

    def find_published(self, post: Post) -> Published | None:
        """Settle an unknown outcome by reading the account's recent posts, where the network allows it."""
        return None

    def absence_certain(self) -> bool:
        """Whether find_published finding nothing means the post surely does not exist."""
        return False

    def read_back(self, post: Post) -> ReadBack:
        """Whether ``post`` exists on the account: found, surely absent, or cannot tell (recovery after a crash,
        a close while a post was in doubt)."""
        found = self.find_published(post)
        return ReadBack(found, found is not None or self.absence_certain())

    def check(self) -> AccountInfo:
        """Who this account is and its limits (``campaign-bot accounts check``)."""
        return AccountInfo(handle=self.account_id, url=None)
