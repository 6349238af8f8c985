"""What the adapters read back from a network: a post's counts, and who answered the account.

Plain data, no client library: bot/reach/ consumes it; the adapters (the only modules importing client
libraries) produce it with their batched read methods ``counts()`` and ``mentions()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from bot.networks.base import NetworkError


class ReadNotAvailable(NetworkError):
    """This account cannot read that (X's free tier): said once and recorded, never an error of a post."""


NOT_ON_THIS_TIER = "not available on this tier"


@dataclass(frozen=True)
class Counts:
    """A post's counts as the network shows them; None where the network does not say (Mastodon before 4.5
    has no quotes_count)."""

    reposts: int = 0
    likes: int = 0
    replies: int = 0
    quotes: int | None = None


@dataclass(frozen=True)
class Mention:
    """A reply, mention or quote of the account, as its notifications (or X's mentions) show it.

    ``subject`` is the remote id (Bluesky: the at:// uri) of the account's post it replies to or quotes,
    None for a plain mention."""

    remote_id: str
    kind: str  # reply | mention | quote
    author: str  # the author's handle, @user@domain on Mastodon, @handle on Bluesky and X
    text: str
    url: str | None
    subject: str | None
    created_at: datetime | None = None


@dataclass(frozen=True)
class MentionsPage:
    """New mentions, oldest first, and the cursor to give next time (None: keep the old one)."""

    mentions: list[Mention]
    cursor: str | None


class Reader(ABC):
    """A network the bot reads back: published posts' counts and who answered the account (bot/reach/). An
    adapter declares it by subclassing; the registry advertises it."""

    @abstractmethod
    def counts(self, refs: list[str]) -> dict[str, Counts]:
        """Each published post's counts, by its remote id (in batches the network allows)."""

    @abstractmethod
    def mentions(self, cursor: str | None) -> MentionsPage:
        """Replies, mentions and quotes of the account since ``cursor``."""


def handle_key(handle: str) -> str:
    """A handle compared as networks compare them: without the leading @, case-insensitive."""
    return handle.strip().lstrip("@").lower()
