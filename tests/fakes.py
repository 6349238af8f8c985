"""A recording fake network that can be told to fail in each way the real ones do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from bot.networks.base import Booster, Network, Post, Published
from bot.networks.settings import AccountSettings


@dataclass
class Sent:
    post: Post
    remote_id: str


class FakeNetwork(Network):
    """Records every post. ``fail_next(exc, ...)`` makes the next publish calls raise, in order.

    When ``idempotent`` is true it behaves like Mastodon with an Idempotency-Key: a second publish with the
    same key returns the first post instead of creating another.
    """

    kind: ClassVar[str] = "fake"
    max_length: ClassVar[int] = 500

    def __init__(self, account_id: str = "fake", *, idempotent: bool = True, max_length: int = 500,
                 on_publish: Callable[[Post], None] | None = None, key_memory: timedelta | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(account_id, AccountSettings(network="console"))
        self.idempotent = idempotent  # type: ignore[misc]
        self.key_memory = key_memory  # type: ignore[misc]
        """As Mastodon's hour: a key older than this (by ``clock``) is forgotten, and the post made again."""
        self._clock = clock
        self._key_made: dict[str, datetime] = {}
        self._limit = max_length
        self.posts: list[Sent] = []
        self.calls = 0
        self._failures: list[Exception] = []
        self._by_key: dict[str, Sent] = {}
        self._lock = threading.RLock()  # a hook called while publishing may record a post too
        self.on_publish = on_publish
        self.lookup_finds = False
        """Reading the account back finds what was published (else: it cannot tell)."""
        self.certain = False
        """When reading back finds nothing, the post surely does not exist (Bluesky, Mastodon)."""

    def limit(self) -> int:
        return self._limit

    def fail_next(self, *errors: Exception) -> None:
        self._failures.extend(errors)

    def publish(self, post: Post) -> Published:
        with self._lock:
            self.calls += 1
            if self.on_publish:
                self.on_publish(post)
            if self._failures:
                raise self._failures.pop(0)
            if self.idempotent and post.idempotency_key in self._by_key and self._remembers(post.idempotency_key):
                sent = self._by_key[post.idempotency_key]
            else:
                sent = self._made(post)
        return Published(sent.remote_id, f"https://fake.example/{self.account_id}/{sent.remote_id}",
                         {"cid": f"cid-{sent.remote_id}"})

    def deliver_silently(self, post: Post) -> None:
        """The post reached the network but the answer was lost (for outcome-unknown tests)."""
        with self._lock:
            self._made(post)

    def _made(self, post: Post) -> Sent:
        sent = Sent(post, f"{self.account_id}-{len(self.posts) + 1}")
        self.posts.append(sent)
        self._by_key[post.idempotency_key] = sent
        if self._clock is not None:
            self._key_made[post.idempotency_key] = self._clock()
        return sent

    def _remembers(self, key: str) -> bool:
        if self.key_memory is None or self._clock is None:
            return True
        return self._clock() - self._key_made[key] < self.key_memory

    def find_published(self, post: Post) -> Published | None:
        if not self.lookup_finds:
            return None
        sent = self._by_key.get(post.idempotency_key)
        if sent is None:
            return None
        return Published(sent.remote_id, f"https://fake.example/{self.account_id}/{sent.remote_id}")

    def absence_certain(self) -> bool:
        return self.lookup_finds and self.certain

    @property
    def texts(self) -> list[str]:
        return [s.post.text for s in self.posts]


class BoostingFake(FakeNetwork, Booster):
    """A supporter's account that boosts: what it boosted is a set of remote ids, as a network's reposts are
    (boosting twice is one boost; taking back what is not there is nothing); it reads its reposts back."""

    def __init__(self, account_id: str = "supporter") -> None:
        super().__init__(account_id)
        self.boosted: set[str] = set()

    def boost(self, post: Post) -> Published:
        with self._lock:
            self.calls += 1
            if self._failures:
                raise self._failures.pop(0)
            self.boosted.add(post.text)
        return Published(f"repost-{post.text}", None)

    def unboost(self, post: Post) -> Published:
        with self._lock:
            self.calls += 1
            if self._failures:
                raise self._failures.pop(0)
            self.boosted.discard(post.text)
        return Published(f"unrepost-{post.text}", None)

    def find_boost(self, post: Post) -> Published | None:
        return Published(f"repost-{post.text}", None) if post.text in self.boosted else None

    def boost_absence_certain(self) -> bool:
        return True
