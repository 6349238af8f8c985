"""Mastodon, through Mastodon.py. The only module that imports it.

- Every post carries the delivery's Idempotency-Key, so a retry within the server's window (an hour)
  returns the first status instead of posting again: safe to retry after an unknown outcome. A retry later
  than that is read back first (``key_memory``).
- ratelimit_method="throw": the library's default "wait" would sleep inside a worker for hours.
- Lengths follow the instance: configuration.statuses.max_characters and characters_reserved_per_url from
  /api/v2/instance, cached per account in the database for a day.
- Mastodon.py is imported inside the methods that talk to the server, so `validate` and `status` (which only
  measure texts) never load it.
- A supporter's boost: the delivery's text is the organisation's status URL. It is resolved on the
  supporter's instance (search with resolve=true), or read from the URL when the status is local, then
  reblogged. Reblogging twice returns the first reblog (Mastodon's ReblogService), so retries are safe.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field

from bot.networks.base import (
    CANNOT_TELL,
    AccountInfo,
    AccountStore,
    Booster,
    Network,
    Post,
    Published,
    ReadBack,
    TransientError,
)
from bot.networks.mastodon.errors import classify
from bot.networks.mastodon.reads import MENTION_RE, counts_of, mention_of, version_of
from bot.networks.mastodon.reads import comparable as _comparable
from bot.networks.mastodon.reads import html_text as _html_text
from bot.networks.mastodon.transport import environment_once, public_session, untyped_post
from bot.networks.reading import Counts, MentionsPage, Reader
from bot.networks.secrets import Secrets
from bot.networks.settings import AccountSettings
from bot.networks.text import graphemes

if TYPE_CHECKING:
    from mastodon import Mastodon
    from mastodon.errors import MastodonError

log = logging.getLogger(__name__)

DEFAULT_MAX = 500
READ_BACK_PAGES = 10
"""At most this many pages of 40 statuses are read to settle one unknown outcome."""
CLOCK_SKEW = timedelta(minutes=30)
"""Reading back, statuses are read down to this long before the post was due: the server's clock may differ."""
DEFAULT_URL_LENGTH = 23
URL_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
LIMITS_TTL = timedelta(days=1)
STATUSES_PER_REQUEST = 20  # Api::V1::StatusesController#index refuses more (check_statuses_limit)
MENTION_PAGES = 5
_INSTANCES: dict[str, dict[str, Any]] = {}
"""The limits last read per instance in this process, for every account on it (a day old at most)."""


class MastodonSettings(AccountSettings):
    api_base_url: str = Field(pattern=r"^https?://")
    access_token_env: str
    visibility: str = Field(default="public", pattern="^(public|unlisted|private|direct)$")
    request_timeout: float = Field(default=30, gt=0)
    media_timeout: float = Field(default=300, gt=0)
    mastodon_version: str | None = None
    """The server's Mastodon version; by default read from /api/v2/instance once a day."""
    reach: Literal["any", "public", "public_and_loopback"] = "any"
    """Which addresses the server may be at: "public" for a server someone outside the organisation named (a
    supporter's instance: bot/networks/outbound.py), checked at every connection and redirect."""


def mastodon_length(text: str, url_length: int = DEFAULT_URL_LENGTH) -> int:
    """As Mastodon counts: a URL weighs the reserved length, a mention only its username, then graphemes."""
    text = URL_RE.sub("x" * url_length, text)
    text = MENTION_RE.sub(r"\1", text)
    return graphemes(text)


class MastodonNetwork(Network, Booster, Reader):
    kind: ClassVar[str] = "mastodon"
    settings_model: ClassVar[type[AccountSettings]] = MastodonSettings
    idempotent: ClassVar[bool] = True
    key_memory: ClassVar[timedelta | None] = timedelta(hours=1)
    """PostStatusService keeps a key in Redis for 3,600 s after it created the status (``redis.setex``)."""
    max_length: ClassVar[int] = DEFAULT_MAX
    settings: MastodonSettings

    def __init__(self, account_id: str, settings: AccountSettings, store: AccountStore | None = None,
                 secrets: Secrets | None = None) -> None:
        super().__init__(account_id, settings, store, secrets)
        self._client: Mastodon | None = None
        self._limits: dict[str, Any] | None = None

    @classmethod
    def measure(cls, text: str) -> int:
        return mastodon_length(text)

    def _make_client(self, version: str | None, *, token: bool = True) -> Mastodon:
        """A client; without ``token`` for public endpoints (the instance's limits need no credential)."""
        from mastodon import Mastodon

        client = Mastodon(
            access_token=self.secret(self.settings.access_token_env) if token else None,
            api_base_url=self.settings.api_base_url,
            ratelimit_method="throw",
            request_timeout=self.settings.request_timeout,
            mastodon_version=version,
            # "created": trust the version given here and never ask again ("none" would ignore it).
            version_check_mode="created" if version else "none",
            user_agent="campaign-bot",
            session=None if self.settings.reach == "any" else public_session(self.settings.reach),
        )
        environment_once(client.session, self.settings.api_base_url)
        return client

    def client(self) -> Mastodon:
        """A client that knows the server's version up front.

        Mastodon.py 2.3 re-checks the version inside some calls (media_post), and if that check fails it
        recurses until RecursionError; giving it the version from /api/v2/instance (cached with the limits)
        avoids both the extra request and the failure mode.
        """
        if self._client is None:
            version = self.settings.mastodon_version or self.instance_limits().get("version") or "4.0.0"
            self._client = self._make_client(version)
        return self._client

    # -- limits ---------------------------------------------------------------------------------------------

    def instance_limits(self) -> dict[str, Any]:
        if self._limits is not None and datetime.fromisoformat(self._limits["fetched_at"]) > _now() - LIMITS_TTL:
            return self._limits
        from mastodon.errors import MastodonError

        shared = _INSTANCES.get(self.settings.api_base_url)  # many supporters' accounts share one instance
        cached = shared or self.store.load("limits")
        if cached and datetime.fromisoformat(cached["fetched_at"]) > _now() - LIMITS_TTL:
            self._limits = _INSTANCES[self.settings.api_base_url] = cached
            return cached
        try:
            client = self._client or self._make_client(self.settings.mastodon_version, token=False)
            instance = client.instance_v2()
            statuses = instance["configuration"]["statuses"]
            limits = {"max_characters": int(statuses.get("max_characters") or DEFAULT_MAX),
                      "characters_reserved_per_url": int(statuses.get("characters_reserved_per_url")
                                                         or DEFAULT_URL_LENGTH),
                      "version": str(instance.get("version") or "") or None,
                      "domain": str(instance.get("domain") or "") or None,
                      "fetched_at": _now().isoformat()}
        except (MastodonError, KeyError, TypeError) as exc:
            log.warning("account %s: could not read the instance's limits (%s); using Mastodon's defaults for "
                        "an hour", self.account_id, type(exc).__name__)
            # Kept in memory only, and aged so that the real limits are asked for again in an hour.
            self._limits = {"max_characters": DEFAULT_MAX, "characters_reserved_per_url": DEFAULT_URL_LENGTH,
                            "fetched_at": (_now() - LIMITS_TTL + timedelta(hours=1)).isoformat()}
            return self._limits
        self._limits = _INSTANCES[self.settings.api_base_url] = limits
        self.store.save("limits", limits)
        return limits

    def limit(self) -> int:
        return int(self.instance_limits()["max_characters"])

    def length(self, text: str) -> int:
        return mastodon_length(text, int(self.instance_limits()["characters_reserved_per_url"]))

    @property
    def measured_as(self) -> str | None:
        """``measure`` counts a link as Mastodon's default; a server that reserves another length counts its own."""
        url_length = int(self.instance_limits()["characters_reserved_per_url"])
        return self.kind if url_length == DEFAULT_URL_LENGTH else None

    # -- posting --------------------------------------------------------------------------------------------

    def _upload(self, post: Post) -> list[Any]:
        client = self.client()
        ids = []
        for media in post.media:
            attachment = client.media_post(str(media.path), description=media.alt, synchronous=False)
            # Video, gifv and audio answer 202 with url null until processed. This account's thread waits;
            # the other accounts run on their own threads.
            deadline = time.monotonic() + self.settings.media_timeout
            delay = 0.5
            while attachment.get("url") is None:
                if time.monotonic() > deadline:
                    raise TransientError(f"media {media.path.name} still processing after "
                                         f"{self.settings.media_timeout:.0f}s")
                time.sleep(delay)
                delay = min(delay * 2, 5)
                attachment = client.media(attachment["id"])
            ids.append(attachment["id"])
        return ids

    def publish(self, post: Post) -> Published:
        from mastodon.errors import MastodonError

        try:
            media_ids = self._upload(post) if post.media else None
            reply_to = post.in_reply_to.remote_id if post.in_reply_to else None
            client = self.client()
            # The fields and header status_post sends (tests/test_recordings.py compares the two requests)
            status = untyped_post(client, "/api/v1/statuses", {
                "status": post.text, "in_reply_to_id": reply_to, "media_ids": media_ids, "sensitive": False,
                "visibility": self.settings.visibility, "language": post.language,
            }, headers={"Idempotency-Key": post.idempotency_key})
            if status is None:
                status = client.status_post(post.text, in_reply_to_id=reply_to, media_ids=media_ids,
                                            language=post.language, visibility=self.settings.visibility,
                                            idempotency_key=post.idempotency_key)
        except MastodonError as exc:
            raise self.classify(exc) from exc
        return Published(remote_id=str(status["id"]), url=status.get("url") or status.get("uri"))

    # -- boosting (supporters) -------------------------------------------------------------------------------

    def _resolve(self, url: str) -> str:
        """The id, on this account's instance, of the status at ``url``."""

        target = urlsplit(url.strip())
        local = {urlsplit(self.settings.api_base_url).netloc, self.instance_limits().get("domain")}
        if target.netloc in local:  # a status of this instance: its id ends the URL
            last = target.path.rstrip("/").rsplit("/", 1)[-1]
            if last.isdigit():
                return last
        found = self.client().search_v2(url.strip(), resolve=True, result_type="statuses")
        statuses = found.get("statuses") or []
        if not statuses:  # the instance could not fetch it (yet): worth a few more tries
            raise TransientError(f"the status {url} could not be resolved on {target.netloc or 'the instance'}")
        return str(statuses[0]["id"])

    def boost(self, post: Post) -> Published:
        """Reblog the organisation's status whose URL is ``post.text``."""
        from mastodon.errors import MastodonError

        try:
            status_id = self._resolve(post.text)
            client = self.client()
            reblog = untyped_post(client, f"/api/v1/statuses/{quote(status_id, safe='')}/reblog")
            if reblog is None:
                reblog = client.status_reblog(status_id)
        except MastodonError as exc:
            raise self.classify(exc) from exc
        return Published(remote_id=str(reblog["id"]), url=None, ref={"status_id": status_id})

    def unboost(self, post: Post) -> Published:
        """Undo the reblog of the status whose URL is ``post.text`` (nothing to undo is not an error)."""
        from mastodon.errors import MastodonError

        try:
            status_id = self._resolve(post.text)
            client = self.client()
            if untyped_post(client, f"/api/v1/statuses/{quote(status_id, safe='')}/unreblog") is None:
                client.status_unreblog(status_id)
        except MastodonError as exc:
            raise self.classify(exc) from exc
        return Published(remote_id=status_id, url=None, ref={"status_id": status_id})

    def classify(self, exc: MastodonError) -> Exception:
        return classify(exc, getattr(self._client, "ratelimit_reset", None), self.settings.request_timeout)

    def find_published(self, post: Post) -> Published | None:
        return self.read_back(post).published

    def read_back(self, post: Post) -> ReadBack:
        """Settle a post whose outcome is unknown: look for it among the account's statuses since shortly before
        it was due (page after page, newest first), by language and text as Mastodon renders it. A status
        cannot be back-dated, so having read every status since then, not finding it is certain (a status
        deleted since is, too: sending it again is what a person would do)."""
        from mastodon.errors import MastodonError

        since = (post.scheduled_at or _now()) - CLOCK_SKEW
        wanted = _comparable(post.text)
        try:
            client = self.client()
            me = client.account_verify_credentials()
            max_id = None
            for _ in range(READ_BACK_PAGES):
                statuses = client.account_statuses(me["id"], limit=40, max_id=max_id) or []
                for status in statuses:
                    created = status.get("created_at")
                    if isinstance(created, datetime) and created.astimezone(UTC) < since:
                        return ReadBack(None, True)  # every status since then was read
                    if status.get("language") not in (None, post.language) or str(status.get("id")) in post.taken:
                        continue
                    if _comparable(_html_text(str(status.get("content") or ""))) == wanted:
                        url = status.get("url") or status.get("uri")
                        return ReadBack(Published(remote_id=str(status["id"]), url=url), True)
                if len(statuses) < 40:
                    return ReadBack(None, True)  # the account's whole history was read
                max_id = statuses[-1]["id"]
        except MastodonError as exc:
            raise self.classify(exc) from exc
        return CANNOT_TELL  # more statuses since then than we read: it may be further down

    def find_boost(self, post: Post) -> Published | None:
        """This account's reblog of the status whose URL is ``post.text``, if it exists (the status as this account
        sees it says whether it reblogged it)."""
        from mastodon.errors import MastodonError

        try:
            status_id = self._resolve(post.text)
            seen = self.client().status(status_id)
        except MastodonError as exc:
            raise self.classify(exc) from exc
        return Published(remote_id=status_id, url=None, ref={"status_id": status_id}) if seen.get("reblogged") else None

    def boost_absence_certain(self) -> bool:
        return True

    def check(self) -> AccountInfo:
        from mastodon.errors import MastodonError

        try:
            me = self.client().account_verify_credentials()
        except MastodonError as exc:
            raise self.classify(exc) from exc
        limits = {k: v for k, v in self.instance_limits().items() if k in ("max_characters",
                                                                             "characters_reserved_per_url")}
        return AccountInfo(handle=f"@{me['acct']}", url=me.get("url"), limits=limits)


    # -- reading back (bot/reach/): kept together at the end of the class ------------------------------------

    def counts(self, refs: list[str]) -> dict[str, Counts]:
        """Counts of the account's posts by status id; a post that is gone is left out. Mastodon 4.3+ reads
        up to 20 per request (GET /api/v1/statuses?id[]=; more is a 422), older servers one per request."""
        from mastodon.errors import MastodonError, MastodonNotFoundError

        out: dict[str, Counts] = {}
        try:
            client = self.client()
            version = self.settings.mastodon_version or self.instance_limits().get("version") or "4.0.0"
            if version_of(version) >= (4, 3):
                for i in range(0, len(refs), STATUSES_PER_REQUEST):
                    for status in client.statuses(refs[i:i + STATUSES_PER_REQUEST]) or []:
                        out[str(status["id"])] = counts_of(status)
                return out
            for ref in refs:
                try:
                    out[ref] = counts_of(client.status(ref))
                except MastodonNotFoundError:
                    continue
        except MastodonError as exc:
            raise self.classify(exc) from exc
        return out

    def mentions(self, cursor: str | None) -> MentionsPage:
        """Mention and quote notifications after ``cursor`` (a notification id), oldest first; with no cursor
        only the newest page (no backlog)."""
        from mastodon.errors import MastodonError

        found: list[Any] = []
        try:
            for _ in range(MENTION_PAGES):
                page = self.client().notifications(types=["mention", "quote"], min_id=cursor, limit=40) or []
                found.extend(page)
                if cursor is None or len(page) < 40:
                    break
                cursor = str(max(int(n["id"]) for n in page))
        except MastodonError as exc:
            raise self.classify(exc) from exc
        found.sort(key=lambda n: int(n["id"]))
        mentions = [m for n in found if (m := mention_of(n, self.settings.api_base_url)) is not None]
        return MentionsPage(mentions, str(found[-1]["id"]) if found else None)


def _now() -> datetime:
    return datetime.now(UTC)
