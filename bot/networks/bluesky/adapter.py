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
- A supporter's boost is a repost record (app.bsky.feed.repost) whose rkey is the reposted post's own rkey
  (a TID): the same on every attempt, and the one an unboost deletes. A PDS answers a repost of the same
  subject at the same rkey by replacing it (createRecord deletes "backlink conflicts" first), and a taken
  rkey with another record by a 500; so a retry reads the record back before creating it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from bot.networks.base import (
    AccountInfo,
    AccountStore,
    AuthRevoked,
    Booster,
    Network,
    PermanentError,
    Post,
    Published,
)
from bot.networks.bluesky.errors import classify
from bot.networks.bluesky.errors import error_name as _error_name
from bot.networks.bluesky.errors import rate_limited as _rate_limited
from bot.networks.bluesky.errors import session_dead as _session_dead
from bot.networks.bluesky.keys import delivery_tid, repost_rkey
from bot.networks.bluesky.reads import read_counts, read_mentions
from bot.networks.reading import Counts, MentionsPage, Reader
from bot.networks.secrets import Secrets
from bot.networks.settings import AccountSettings
from bot.networks.text import graphemes

if TYPE_CHECKING:
    from atproto import Client, models

log = logging.getLogger(__name__)
MAX_GRAPHEMES = 300
POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"


class BlueskySettings(AccountSettings):
    handle: str = Field(pattern=r"^@?([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
    app_password_env: str
    service_url: str = Field(default="https://bsky.social", pattern=r"^https?://")
    request_timeout: float = Field(default=30, gt=0)
    reach: Literal["any", "public", "public_and_loopback"] = "any"
    """Which addresses the server may be at: "public" for a server someone outside the organisation named (a
    supporter's: bot/networks/outbound.py), checked at every connection, the PDS the login names included."""


def _subject(text: str) -> tuple[str, str]:
    """A boost delivery's text: the reposted post's ``at://`` URI and its CID."""
    parts = text.split()
    if len(parts) != 2 or not parts[0].startswith("at://"):
        raise PermanentError("a Bluesky boost names the post as 'at://... CID'")
    return parts[0], parts[1]


class BlueskyNetwork(Network, Booster, Reader):
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
                        request=_request(self.settings.request_timeout, self.settings.reach))
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
        rkey = delivery_tid(post.delivery_id, post.scheduled_at, post.idempotency_key)
        return self._call(lambda: self._publish(post, rkey))

    def _call(self, step: Callable[[], Published]) -> Published:
        """Run a write; when the stored session died under us, log in once more, then give up."""
        import httpx
        from atproto_client.exceptions import AtProtocolError, BadRequestError, UnauthorizedError

        try:
            return step()
        except (UnauthorizedError, BadRequestError) as exc:
            if not _session_dead(exc):
                raise self.classify(exc) from exc
            with self._lock:
                self._client = None
            self.store.save("session", None)
            try:
                return step()
            except (AtProtocolError, httpx.TransportError) as exc:
                raise self.classify(exc) from exc
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc

    def boost(self, post: Post) -> Published:
        """Repost the post named by ``post.text`` (its URI and CID)."""
        uri, cid = _subject(post.text)
        return self._call(lambda: self._repost(post, uri, cid, repost_rkey(uri)))

    def _repost(self, post: Post, uri: str, cid: str, rkey: str) -> Published:
        from atproto import models
        from atproto_client.exceptions import BadRequestError, RequestException

        client = self.client()
        repo = self._did(client)
        if post.attempt > 1 and (done := self._reposted(client, repo, rkey, uri)) is not None:
            return done
        record = models.AppBskyFeedRepost.Record(subject=models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid),
                                                 created_at=client.get_current_time_iso())
        try:
            created = client.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(repo=repo, collection=REPOST, rkey=rkey, record=record))
        except (BadRequestError, RequestException) as exc:  # a taken rkey is a 500: ours, or someone else's?
            if _rate_limited(exc) or (done := self._reposted(client, repo, rkey, uri)) is None:
                raise
            return done
        return Published(remote_id=str(created.uri), url=None, ref={"uri": created.uri, "cid": created.cid})

    def _reposted(self, client: Client, repo: str, rkey: str, uri: str) -> Published | None:
        """Our repost of ``uri`` at ``rkey``, when it exists."""
        found = self._get(client, repo, REPOST, rkey)
        subject = getattr(getattr(found, "value", None), "subject", None) if found is not None else None
        if found is None or getattr(subject, "uri", None) != uri:
            return None
        return Published(remote_id=str(found.uri), url=None, ref={"uri": str(found.uri), "cid": str(found.cid)})

    def unboost(self, post: Post) -> Published:
        """Delete the repost of the post named by ``post.text`` (deleting what is not there is a no-op)."""
        from atproto import models

        uri, _cid = _subject(post.text)
        rkey = repost_rkey(uri)

        def delete() -> Published:
            client = self.client()
            repo = self._did(client)
            client.com.atproto.repo.delete_record(
                models.ComAtprotoRepoDeleteRecord.Data(repo=repo, collection=REPOST, rkey=rkey))
            return Published(remote_id=f"at://{repo}/{REPOST}/{rkey}", url=None)

        return self._call(delete)

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
        """The post this account has at ``rkey`` (uri, cid), or None when there is none."""
        found = self._get(client, repo, POST, rkey)
        return (str(found.uri), str(found.cid)) if found is not None else None

    def _get(self, client: Client, repo: str, collection: str, rkey: str) -> Any:
        from atproto import models
        from atproto_client.exceptions import BadRequestError

        try:
            found = client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(repo=repo, collection=collection, rkey=rkey))
        except BadRequestError as exc:
            if _error_name(exc) in ("RecordNotFound", "InvalidRequest", None):
                return None
            raise
        return found if found.cid else None

    def absence_certain(self) -> bool:
        return True  # a post's record key is derived from its delivery: it is there or nowhere

    def find_boost(self, post: Post) -> Published | None:
        """This account's repost of the post named by ``post.text``: at the rkey derived from it, or nowhere."""
        import httpx
        from atproto_client.exceptions import AtProtocolError

        uri, _cid = _subject(post.text)
        try:
            client = self.client()
            return self._reposted(client, self._did(client), repost_rkey(uri), uri)
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc

    def boost_absence_certain(self) -> bool:
        return True

    def find_published(self, post: Post) -> Published | None:
        """Settle an unknown outcome: the record is at the rkey derived from the delivery, or nowhere."""
        import httpx
        from atproto_client.exceptions import AtProtocolError

        rkey = delivery_tid(post.delivery_id, post.scheduled_at, post.idempotency_key)
        try:
            client = self.client()
            existing = self._existing(client, self._did(client), rkey)
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc
        return self._published(rkey, *existing) if existing is not None else None

    def classify(self, exc: Exception) -> Exception:
        return classify(exc, self.handle, self.settings.request_timeout)

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

        try:
            return read_counts(self.client(), refs)
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc

    def mentions(self, cursor: str | None) -> MentionsPage:
        """Replies, mentions and quotes (app.bsky.notification.listNotifications) indexed after ``cursor``
        (the newest indexedAt seen), oldest first. Nothing is marked seen (updateSeen is the person's)."""
        import httpx
        from atproto_client.exceptions import AtProtocolError

        try:
            return read_mentions(self.client(), cursor)
        except (AtProtocolError, httpx.TransportError) as exc:
            raise self.classify(exc) from exc


def _request(timeout: float, reach: str) -> Any:
    from atproto_client.request import Request

    if reach == "any":
        return Request(timeout=timeout)
    from bot.networks.outbound import PublicOnlyTransport, Reach

    class PublicRequest(Request):  # type: ignore[misc]
        """Every connection checked (atproto moves to the PDS the login names: a discovered endpoint). A clone
        gets its own transport, so closing one never closes the other's pool."""

        def __init__(self, **kwargs: Any) -> None:
            chosen = Reach(kwargs.pop("reach"))
            super().__init__(transport=PublicOnlyTransport(chosen), trust_env=False, **kwargs)
            self._client_kwargs = {"reach": chosen, **kwargs}

    return PublicRequest(timeout=timeout, reach=reach)
