"""Threads (Meta's Threads API), over HTTP through bot/networks/graph.py: no client library is well kept enough,
and the ones there are retry publishes on their own, which must never happen here.

Publishing is two steps: a media container (no public effect), then ``threads_publish`` (the post). The
container's id is kept in the account's store *before* it is published, keyed by the delivery's idempotency
key, and the post's id beside it once published, so every later attempt (after a lost answer, a crash, a
restart) knows where it stands: a kept post id is the post; otherwise the container's status says PUBLISHED
(the post is out: it is found among the account's posts), FINISHED (not published: publishing it now is
safe), EXPIRED (24 h) or ERROR (a new container is needed). A container is never published twice, so the
adapter is idempotent.

Images: Threads has no upload; Meta fetches each image from a public URL, so ``image_base_url`` names the public
folder holding the campaign's image files (the organisation's site). The alt text goes with it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field

from bot.networks.base import (
    AccountInfo,
    AccountStore,
    AuthRevoked,
    Network,
    PermanentError,
    Post,
    Published,
    RateLimited,
    TransientError,
)
from bot.networks.graph import Graph
from bot.networks.reading import Counts, MentionsPage, Reader
from bot.networks.secrets import Secrets
from bot.networks.settings import AccountSettings
from bot.networks.threads import reads
from bot.networks.threads.text import MAX_LENGTH, link_problem, tag_warning, threads_length

log = logging.getLogger(__name__)
PROGRESS = "progress"
KEEP = timedelta(days=7)
"""How long a delivery's container is remembered: past any restart's recovery (Meta expires an unpublished
container after 24 h; a published one stays PUBLISHED)."""
TEXT_WAIT = 10.0
"""Seconds to wait for a text container to be processed (it usually is at once)."""
QUOTA_RETRY = timedelta(hours=1)


class ThreadsSettings(AccountSettings):
    access_token_env: str
    user_id: str = Field(default="me", pattern=r"^(me|\d+)$")
    """The Threads user id, or "me" (the token's own profile)."""
    api_base_url: str = Field(default="https://graph.threads.net/v1.0", pattern=r"^https?://")
    image_base_url: str | None = Field(default=None, pattern=r"^https?://")
    """The public folder holding the campaign's image files: Meta fetches each image from there."""
    reply_control: Literal["everyone", "accounts_you_follow", "mentioned_only", "parent_post_author_only",
                           "followers_only"] | None = None
    request_timeout: float = Field(default=30, gt=0)
    media_timeout: float = Field(default=300, gt=0)
    """Seconds to wait for Meta to fetch and process an image before trying again later."""


class ThreadsNetwork(Network, Reader):
    kind: ClassVar[str] = "threads"
    settings_model: ClassVar[type[AccountSettings]] = ThreadsSettings
    idempotent: ClassVar[bool] = True  # the container's status settles every retry (see the module's docstring)
    max_length: ClassVar[int] = MAX_LENGTH
    settings: ThreadsSettings

    def __init__(self, account_id: str, settings: AccountSettings, store: AccountStore | None = None,
                 secrets: Secrets | None = None) -> None:
        super().__init__(account_id, settings, store, secrets)
        self.graph = Graph("Threads", self.settings.api_base_url,
                           lambda: self.secret(self.settings.access_token_env), self.settings.request_timeout)
        self._said_no_mentions = False

    @classmethod
    def measure(cls, text: str) -> int:
        return threads_length(text)

    @classmethod
    def text_problem(cls, text: str) -> str | None:
        return link_problem(text)

    @classmethod
    def text_warning(cls, text: str) -> str | None:
        return tag_warning(text)

    @classmethod
    def media_problem(cls, settings: AccountSettings) -> str | None:
        if isinstance(settings, ThreadsSettings) and not settings.image_base_url:
            return ("Threads fetches images from a public address and has no upload: set image_base_url to the "
                    "public folder holding the campaign's image files")
        return None

    @property
    def user(self) -> str:
        return self.settings.user_id

    # -- the containers kept between the two steps ----------------------------------------------------------

    def _containers(self) -> dict[str, Any]:
        return dict(self.store.load(PROGRESS) or {})

    def _keep(self, key: str, entry: dict[str, Any] | None) -> None:
        """Remember (or forget) a delivery's container, and once published its post; older ones are dropped.
        It is never forgotten when published: the delivery may not be recorded yet (a crash right after)."""
        kept = {k: v for k, v in self._containers().items()
                if isinstance(v, dict) and _parse(v.get("created")) > _now() - KEEP}
        if entry is None:
            kept.pop(key, None)
        else:
            kept[key] = entry
        self.store.save(PROGRESS, kept or None)

    # -- publishing -----------------------------------------------------------------------------------------

    def publish(self, post: Post) -> Published:
        container, done = self._kept(post)
        if done is not None:
            return done
        if container is None:
            container = self._create(post)
            # Before publishing: a crash after this resumes here.
            self._keep(post.idempotency_key, {"id": container, "created": _now().isoformat()})
        status, error = self._wait(container, self.settings.media_timeout if post.media else TEXT_WAIT)
        if status == "PUBLISHED":  # published meanwhile (another worker, after a takeover): never twice
            raise TransientError(f"Threads container {container} was published meanwhile; settling it next")
        if status != "FINISHED":
            self._keep(post.idempotency_key, None)
            if status == "ERROR":
                raise PermanentError(f"Threads could not process the post: {error or 'ERROR'}")
            raise TransientError(f"Threads container {container} is {status}; a new one is made next time")
        try:
            published = self.graph.post(f"{self.user}/threads_publish", {"creation_id": container}, effect=True)
        except PermanentError as refused:
            raise self._quota(refused) from None
        media_id = str(published["id"])
        self._keep(post.idempotency_key, {"id": container, "created": _now().isoformat(), "media": media_id})
        return Published(remote_id=media_id, url=self._permalink(media_id))

    def _kept(self, post: Post) -> tuple[str | None, Published | None]:
        """What an earlier attempt left: (its container, still to publish) or (None, the post it published);
        (None, None) when there is nothing to resume."""
        kept = self._containers().get(post.idempotency_key)
        if not isinstance(kept, dict) or not kept.get("id"):
            return None, None
        container = str(kept["id"])
        if kept.get("media"):  # published, and its id kept: the delivery was not recorded (a crash)
            return None, Published(remote_id=str(kept["media"]), url=self._permalink(str(kept["media"])))
        status, _error = self._status(container)
        if status == "PUBLISHED":  # an earlier attempt went out, its answer lost: find it, never publish again
            found = self._find(post, _parse(kept.get("created")))
            if found is None:
                raise TransientError(f"Threads published container {container} but does not list the post "
                                     "yet; looking again later")
            self._keep(post.idempotency_key, {**kept, "media": found.remote_id})
            return None, found
        if status in ("EXPIRED", "ERROR"):  # not published: a new container (ERROR: Meta may fetch it now)
            log.info("delivery %s: container %s is %s; making a new one", post.delivery_id, container, status)
            self._keep(post.idempotency_key, None)
            return None, None
        return container, None

    def _create(self, post: Post) -> str:
        """A media container; it has no public effect, so a lost answer is only worth a retry."""
        data: dict[str, Any] = {"text": post.text}
        if post.in_reply_to is not None:
            data["reply_to_id"] = post.in_reply_to.remote_id
        if self.settings.reply_control:
            data["reply_control"] = self.settings.reply_control
        if post.media:
            problem = self.media_problem(self.settings)
            if problem:
                raise PermanentError(problem)
            image = post.media[0]  # a carousel would need a container per image and a parent: one image here
            base = (self.settings.image_base_url or "").rstrip("/")
            data.update(media_type="IMAGE", image_url=f"{base}/{quote(image.path.name)}", alt_text=image.alt[:1000])
        else:
            data["media_type"] = "TEXT"
        return str(self.graph.post(f"{self.user}/threads", data, effect=False)["id"])

    def _status(self, container: str) -> tuple[str, str | None]:
        found = self.graph.get(container, {"fields": "id,status,error_message"})
        return str(found.get("status") or "IN_PROGRESS"), found.get("error_message")

    def _wait(self, container: str, seconds: float) -> tuple[str, str | None]:
        """The container's status once it is no longer IN_PROGRESS; still processing after ``seconds``: this
        attempt ends, and the container is published on a later one."""
        deadline, delay = time.monotonic() + seconds, 0.5
        while True:
            status, error = self._status(container)
            if status != "IN_PROGRESS":
                return status, error
            if time.monotonic() >= deadline:
                raise TransientError(f"Threads is still processing container {container}; publishing it later")
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 10)

    def _quota(self, refused: PermanentError) -> Exception:
        """A refused publish over the 24-hour publishing quota is a rate limit (its error code is not
        documented: the quota endpoint says it)."""
        try:
            usage = self.graph.get(f"{self.user}/threads_publishing_limit",
                                   {"fields": "quota_usage,config,reply_quota_usage,reply_config"})
        except (PermanentError, TransientError, RateLimited):
            return refused
        if reads.over_quota(usage):
            return RateLimited(f"Threads publishing quota used up ({refused})", _now() + QUOTA_RETRY)
        return refused

    def _permalink(self, media_id: str) -> str | None:
        """Best effort: the post is out whatever this read says."""
        try:
            return self.graph.get(media_id, {"fields": "permalink"}).get("permalink")
        except (PermanentError, TransientError, RateLimited) as exc:
            log.info("Threads post %s: no permalink read (%s)", media_id, exc)
            return None

    def _find(self, post: Post, since: datetime) -> Published | None:
        """The account's post (or reply) with this text, published since its container was made."""
        edge = "replies" if post.in_reply_to is not None else "threads"
        listing = self.graph.get(f"{self.user}/{edge}", {
            "fields": "id,text,permalink,timestamp", "limit": 50,
            "since": int((since - timedelta(minutes=5)).timestamp())})
        found = reads.match(listing, post.text, post.taken)
        return Published(remote_id=str(found["id"]), url=found.get("permalink")) if found else None

    def find_published(self, post: Post) -> Published | None:
        kept = self._containers().get(post.idempotency_key)
        if not isinstance(kept, dict):
            return None
        if kept.get("media"):
            return Published(remote_id=str(kept["media"]), url=self._permalink(str(kept["media"])))
        if self._status(str(kept.get("id")))[0] != "PUBLISHED":
            return None
        return self._find(post, _parse(kept.get("created")))

    def check(self) -> AccountInfo:
        me = self.graph.get(self.user, {"fields": "id,username"})
        limits: dict[str, Any] = {"max_characters": MAX_LENGTH, "images": "yes" if self.settings.image_base_url
                                  else "no (set image_base_url)"}
        try:
            usage = self.graph.get(f"{self.user}/threads_publishing_limit",
                                   {"fields": "quota_usage,config,reply_quota_usage,reply_config"})
            limits.update(reads.quota(usage))
        except (PermanentError, TransientError, RateLimited):
            pass
        username = str(me.get("username") or me.get("id"))
        return AccountInfo(handle=f"@{username}", url=f"https://www.threads.com/@{username}", limits=limits)

    # -- reading back (bot/reach/) --------------------------------------------------------------------------

    def counts(self, refs: list[str]) -> dict[str, Counts]:
        """Each post's insights (likes, replies, reposts, quotes): one request per post (no batch read);
        a deleted post is left out."""
        out: dict[str, Counts] = {}
        for ref in refs:
            try:
                found = self.graph.get(f"{ref}/insights", {"metric": "likes,replies,reposts,quotes"})
            except PermanentError:
                continue
            out[ref] = reads.counts_of(found)
        return out

    def mentions(self, cursor: str | None) -> MentionsPage:
        """Posts that mention the account (GET /{user}/mentions) after ``cursor`` (a Unix time). Without the
        threads_manage_mentions permission (it needs Meta's review) there are none, and counts are still read."""
        params: dict[str, Any] = {"fields": reads.MENTION_FIELDS, "limit": 50}
        if cursor:
            params["since"] = int(cursor) + 1
        try:
            listing = self.graph.get(f"{self.user}/mentions", params)
        except AuthRevoked as refused:
            if not self._said_no_mentions:
                log.info("account %s: mentions not read (%s); counts are", self.account_id, refused)
                self._said_no_mentions = True
            return MentionsPage([], cursor)
        return reads.mentions_of(listing, cursor)


def _parse(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC)
    except ValueError:
        return _now() - KEEP


def _now() -> datetime:
    return datetime.now(UTC)
