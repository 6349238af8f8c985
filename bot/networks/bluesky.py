"""Bluesky, through atproto. The only module that imports it.

- The post record's rkey is a TID derived from the delivery, so a retry collides with the first attempt
  instead of posting twice. A real PDS answers that collision with 500 InternalServerError (its repository
  throws a plain error: packages/repo/src/mst/mst.ts, "There is already a value at key"), not a 400, so
  any retry reads the record back by its rkey first (com.atproto.repo.getRecord), and so does any refused
  or failed create, before the error is believed.
- The session lives in the database and is refreshed with the refresh token: createSession is limited to
  about 30 per 5 minutes and 300 per day, so the daemon logs in with the app password only when it must.
- Links, hashtags and mentions get facets (a mention's handle is resolved to its DID) so they are clickable.
- atproto is imported inside the methods that talk to the server, so `validate` and `status` never load it.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from bot.networks.base import (
    AccountInfo,
    AccountStore,
    AuthRevoked,
    Network,
    OutcomeUnknown,
    PermanentError,
    Post,
    Published,
    RateLimited,
    TransientError,
)
from bot.networks.bluesky_reads import mention_of
from bot.networks.reading import Counts, MentionsPage
from bot.networks.secrets import Secrets
from bot.networks.settings import AccountSettings
from bot.networks.text import graphemes

if TYPE_CHECKING:
    from atproto import Client, models
    from atproto_client.exceptions import RequestErrorBase

log = logging.getLogger(__name__)
MAX_GRAPHEMES = 300
POST = "app.bsky.feed.post"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
POSTS_PER_REQUEST = 25  # app.bsky.feed.getPosts: uris maxLength 25
MENTION_PAGES = 5


class BlueskySettings(AccountSettings):
    handle: str = Field(pattern=r"^@?([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
    app_password_env: str
    service_url: str = Field(default="https://bsky.social", pattern=r"^https?://")
    request_timeout: float = Field(default=30, gt=0)


def delivery_tid(delivery_id: int, scheduled_at: datetime | None) -> str:
    """A valid TID (the record key posts use) that is the same on every attempt of one delivery.

    53 bits of microseconds and 10 bits of clock id; the delivery id is folded into both, so two deliveries
    of one account due at the same instant still get different keys.
    """
    base = scheduled_at or datetime(2024, 1, 1, tzinfo=UTC)
    micros = int(base.timestamp() * 1_000_000) + delivery_id // 1024
    value = ((micros & ((1 << 53) - 1)) << 10) | (delivery_id % 1024)
    out = []
    for _ in range(13):
        out.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


class BlueskyNetwork(Network):
    kind: ClassVar[str] = "bluesky"
    settings_model: ClassVar[type[AccountSettings]] = BlueskySettings
    idempotent: ClassVar[bool] = True
    max_length: ClassVar[int] = MAX_GRAPHEMES
    settings: BlueskySettings

    def __init__(self, account_id: str, settings: AccountSettings, store: AccountStore | None = None,
                 secrets: Secrets | None = None) -> None:
        super().__init__(account_id, settings, store, secrets)
        self._client: Client | None = None
        self._lock = threading.Lock()

    @classmethod
    def measure(cls, text: str) -> int:
        return graphemes(text)

    @property
    def handle(self) -> str:
        return self.settings.handle.lstrip("@")

    # -- session ------------------------------------------------------------------------------------------

    def _new_client(self) -> Client:
        from atproto import Client

        client = Client(base_url=self.settings.service_url.rstrip("/") + "/xrpc",
                        request=_request(self.settings.request_timeout))
        client.on_session_change(lambda _event, _session: self._save_session(client))
        return client

    def _save_session(self, client: Client) -> None:
        self.store.save("session", {"session": client.export_session_string()})

    def client(self) -> Client:
        """A logged-in client: the stored session if it still works, else the app password (which raises
        Misconfigured while it cannot be read, and is read again next time)."""
        from atproto_client.exceptions import BadRequestError, LoginRequiredError, UnauthorizedError

        with self._lock:
            if self._client is not None:
                return self._client
            client = self._new_client()
            saved = self.store.load("session")
            if saved and saved.get("session"):
                try:
                    client.login(session_string=saved["session"], fetch_bsky_profile=False)
                    self._client = client
                    return client
                except (UnauthorizedError, LoginRequiredError, BadRequestError, ValueError) as exc:
                    log.info("account %s: stored session no longer valid (%s); logging in", self.account_id,
                             type(exc).__name__)
                    client = self._new_client()
            self._login(client)
            self._client = client
            return client

    def _login(self, client: Client) -> None:
        from atproto_client.exceptions import RequestErrorBase, UnauthorizedError

        password = self.secret(self.settings.app_password_env)
        try:
            client.login(self.handle, password, fetch_bsky_profile=False)
        except UnauthorizedError as exc:
            raise AuthRevoked(f"Bluesky refused the app password for {self.handle}: {exc}") from None
        except RequestErrorBase as exc:
            raise self.classify(exc) from exc

    def _did(self, client: Client) -> str:
        from atproto_client.exceptions import LoginRequiredError

        session = client._session  # noqa: SLF001 - atproto exposes the session only this way
        if session is None:
            raise LoginRequiredError
        return str(session.did)

    # -- posting ------------------------------------------------------------------------------------------

    def _record(self, client: Client, post: Post) -> models.AppBskyFeedPost.Record:
        from atproto import models

        reply = None
        if post.in_reply_to is not None:
            parent = post.in_reply_to
            root_ref = parent.root_ref or parent.ref
            reply = models.AppBskyFeedPost.ReplyRef(
                root=models.ComAtprotoRepoStrongRef.Main(uri=root_ref["uri"], cid=root_ref["cid"]),
                parent=models.ComAtprotoRepoStrongRef.Main(uri=parent.ref["uri"], cid=parent.ref["cid"]),
            )
        embed = None
        if post.media:
            images = []
            for media in post.media:
                blob = client.upload_blob(media.path.read_bytes()).blob
                images.append(models.AppBskyEmbedImages.Image(alt=media.alt, image=blob))
            embed = models.AppBskyEmbedImages.Main(images=images)
        return models.AppBskyFeedPost.Record(
            text=post.text,
            facets=client.detect_facets(post.text) or None,
            langs=[post.language],
            reply=reply,
            embed=embed,
            created_at=client.get_current_time_iso(),
        )

    def publish(self, post: Post) -> Published:
        import httpx
        from atproto_client.exceptions import AtProtocolError, BadRequestError, UnauthorizedError

        rkey = delivery_tid(post.delivery_id, post.scheduled_at)
        try:
            return self._publish(post, rkey)
        except (UnauthorizedError, BadRequestError) as exc:
            if not _session_dead(exc):
                raise self.classify(exc) from exc
            # The stored session was revoked or expired under us: log in once more, then give up.
            with self._lock:
                self._client = None
            self.store.save("session", None)
            try:
                return self._publish(post, rkey)
            except (AtProtocolError, httpx.TransportError) as exc:
                raise self.classify(exc) from exc
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc

    def _publish(self, post: Post, rkey: str) -> Published:
        from atproto import models
        from atproto_client.exceptions import BadRequestError, RequestException

        client = self.client()
        repo = self._did(client)
        if post.attempt > 1:  # an earlier attempt may have gone through: believe the repository first
            existing = self._existing(client, repo, rkey)
            if existing is not None:
                log.info("delivery %s: record %s exists (an earlier attempt went through)", post.delivery_id, rkey)
                return self._published(rkey, *existing)
        record = self._record(client, post)
        try:
            created = client.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(repo=repo, collection=POST, rkey=rkey, record=record))
        except (BadRequestError, RequestException) as exc:
            # A duplicate rkey is a 500 on a real PDS (a 400 on older ones): an earlier attempt went through.
            if _rate_limited(exc):
                raise
            existing = self._existing(client, repo, rkey)
            if existing is None:
                raise
            log.info("delivery %s: record %s already exists (an earlier attempt went through)", post.delivery_id, rkey)
            return self._published(rkey, *existing)
        return self._published(rkey, created.uri, created.cid)

    def _published(self, rkey: str, uri: str, cid: str) -> Published:
        return Published(remote_id=uri, url=f"https://bsky.app/profile/{self.handle}/post/{rkey}",
                         ref={"uri": uri, "cid": cid})

    def _existing(self, client: Client, repo: str, rkey: str) -> tuple[str, str] | None:
        """The record this account has at ``rkey`` (uri, cid), or None when there is none."""
        from atproto import models
        from atproto_client.exceptions import BadRequestError

        try:
            found = client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(repo=repo, collection=POST, rkey=rkey))
        except BadRequestError as exc:
            if _error_name(exc) in ("RecordNotFound", "InvalidRequest", None):
                return None
            raise
        if not found.cid:
            return None
        return str(found.uri), str(found.cid)

    def find_published(self, post: Post) -> Published | None:
        """Settle an unknown outcome: the record is at the rkey derived from the delivery, or nowhere."""
        import httpx
        from atproto_client.exceptions import AtProtocolError

        rkey = delivery_tid(post.delivery_id, post.scheduled_at)
        try:
            client = self.client()
            existing = self._existing(client, self._did(client), rkey)
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc
        return self._published(rkey, *existing) if existing is not None else None

    def classify(self, exc: Exception) -> Exception:
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
            return AuthRevoked(f"Bluesky refused the session for {self.handle}: {exc}")
        if isinstance(exc, InvokeTimeoutError):
            return OutcomeUnknown(f"Bluesky did not answer in {self.settings.request_timeout:.0f}s")
        if isinstance(exc, NetworkError):
            return TransientError(f"network error talking to Bluesky: {exc}")
        if isinstance(exc, BadRequestError):
            return PermanentError(f"Bluesky refused the post: {exc}")
        if isinstance(exc, RequestErrorBase):
            return TransientError(f"Bluesky server error: {exc}")
        return TransientError(f"atproto: {exc}")

    def check(self) -> AccountInfo:
        import httpx
        from atproto_client.exceptions import AtProtocolError

        try:
            client = self.client()
            did = self._did(client)
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc
        return AccountInfo(handle=f"@{self.handle}", url=f"https://bsky.app/profile/{self.handle}",
                           limits={"did": did, "max_graphemes": MAX_GRAPHEMES, "service": self.settings.service_url})


    # -- reading back (bot/reach/): kept together at the end of the class ------------------------------------

    def counts(self, refs: list[str]) -> dict[str, Counts]:
        """Counts by post uri, 25 per app.bsky.feed.getPosts (its lexicon's maximum); a deleted post is left
        out (the AppView skips it)."""
        import httpx
        from atproto_client.exceptions import AtProtocolError

        out: dict[str, Counts] = {}
        try:
            client = self.client()
            for i in range(0, len(refs), POSTS_PER_REQUEST):
                found = client.app.bsky.feed.get_posts(params={"uris": refs[i:i + POSTS_PER_REQUEST]})
                for post in found.posts:
                    out[str(post.uri)] = Counts(reposts=post.repost_count or 0, likes=post.like_count or 0,
                                                replies=post.reply_count or 0, quotes=post.quote_count or 0)
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc
        return out

    def mentions(self, cursor: str | None) -> MentionsPage:
        """Replies, mentions and quotes (app.bsky.notification.listNotifications) indexed after ``cursor``
        (the newest indexedAt seen), oldest first. Nothing is marked seen (updateSeen is the person's)."""
        import httpx
        from atproto_client.exceptions import AtProtocolError

        found: list[Any] = []
        page_cursor: str | None = None
        try:
            client = self.client()
            for _ in range(MENTION_PAGES):
                params: dict[str, Any] = {"limit": 50, **({"cursor": page_cursor} if page_cursor else {})}
                page = client.app.bsky.notification.list_notifications(params=params)
                fresh = [n for n in page.notifications if cursor is None or str(n.indexed_at) > cursor]
                found.extend(fresh)
                page_cursor = page.cursor
                if cursor is None or len(fresh) < len(page.notifications) or not page_cursor:
                    break
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc
        found.sort(key=lambda n: str(n.indexed_at))
        mentions = [mention_of(n) for n in found if n.reason in ("reply", "mention", "quote")]
        return MentionsPage(mentions, str(found[-1].indexed_at) if found else None)


def _session_dead(exc: RequestErrorBase) -> bool:
    """401, or the 400 ExpiredToken/InvalidToken a PDS answers to a stale refresh token."""
    from atproto_client.exceptions import UnauthorizedError

    if isinstance(exc, UnauthorizedError):
        return True
    return _error_name(exc) in ("ExpiredToken", "InvalidToken")


def _error_name(exc: RequestErrorBase) -> str | None:
    """The XRPC error name the server answered with (``RecordNotFound``, ``InternalServerError``...)."""
    content = getattr(exc.response, "content", None)
    name = getattr(content, "error", None)
    return str(name) if name else None


def _rate_limited(exc: RequestErrorBase) -> bool:
    from atproto_client.exceptions import RateLimitExceededError

    return isinstance(exc, RateLimitExceededError)


def _request(timeout: float) -> Any:
    from atproto_client.request import Request

    return Request(timeout=timeout)
