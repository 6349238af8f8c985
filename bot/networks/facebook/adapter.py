"""A Facebook Page, through the Graph API over HTTP (bot/networks/graph.py): no SDK is needed for the handful of
calls, and the official one is built for ads.

- A post is ``POST /{page-id}/feed`` with the message and, for a preview card, its first link. Images are
  uploaded first as unpublished photos (``published=false``, with ``alt_text_custom``; no public effect, so
  safe to retry) and attached to the post (``attached_media``).
- A reply in a thread (the closing message) is a comment under the thread's first post, as the Page; or, with
  ``replies = "post"``, a post of its own.
- The Page token comes from the environment (``page_token_env``). Graph has no idempotency key: after a lost
  answer the dispatcher asks ``find_published``, which reads the Page's recent posts (or the thread's comments)
  and settles the delivery when the text is there; otherwise it is flagged for a person. A retry after an
  error Graph called temporary reads back the same way before posting again.
- Counts: reactions, comments and shares of each post (shares only on posts, not comments), 50 per request.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from bot.networks.base import (
    AccountInfo,
    AccountStore,
    Network,
    NetworkError,
    PermanentError,
    Post,
    Published,
    read_image,
)
from bot.networks.facebook import reads
from bot.networks.graph import Graph
from bot.networks.reading import Counts, MentionsPage, Reader
from bot.networks.secrets import Secrets
from bot.networks.settings import AccountSettings

MAX_LENGTH = 63_206
"""The length Facebook's composer allows (widely documented by tools; Graph's reference gives none)."""
URL_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
IDS_PER_REQUEST = 50  # Graph's multiple-id read (?ids=) takes at most 50


class FacebookSettings(AccountSettings):
    page_id: str = Field(pattern=r"^\d+$")
    page_token_env: str
    """The environment variable holding the Page access token (pages_manage_posts, pages_read_engagement)."""
    api_base_url: str = Field(default="https://graph.facebook.com/v27.0", pattern=r"^https?://")
    replies: Literal["comment", "post"] = "comment"
    """A reply in a thread (the closing message): a comment under the thread's first post, or a new post."""
    request_timeout: float = Field(default=30, gt=0)


class FacebookNetwork(Network, Reader):
    kind: ClassVar[str] = "facebook"
    settings_model: ClassVar[type[AccountSettings]] = FacebookSettings
    idempotent: ClassVar[bool] = False
    max_length: ClassVar[int] = MAX_LENGTH
    settings: FacebookSettings

    def __init__(self, account_id: str, settings: AccountSettings, store: AccountStore | None = None,
                 secrets: Secrets | None = None) -> None:
        super().__init__(account_id, settings, store, secrets)
        self.graph = Graph("Facebook", self.settings.api_base_url,
                           lambda: self.secret(self.settings.page_token_env), self.settings.request_timeout)

    @property
    def page(self) -> str:
        return self.settings.page_id

    def _comments_on(self, post: Post) -> str | None:
        """The post a reply comments under (the thread's first post), or None to post it on its own."""
        if post.in_reply_to is None or self.settings.replies != "comment":
            return None
        return post.in_reply_to.root_id or post.in_reply_to.remote_id

    def publish(self, post: Post) -> Published:
        if post.attempt > 1:  # an earlier attempt may have gone through (Graph said "retry"): read back first
            done = self.find_published(post)
            if done is not None:
                return done
        parent = self._comments_on(post)
        if parent is not None:
            data: dict[str, Any] = {"message": post.text}
            if post.media:
                data["attachment_id"] = self._upload(post.media[0].path, post.media[0].alt)
            made = self.graph.post(f"{parent}/comments", data, effect=True)
            comment = str(made["id"])
            return Published(remote_id=comment, url=self._permalink(comment), ref={"comment_on": parent})
        data = {"message": post.text}
        first_link = URL_RE.search(post.text)
        if first_link and not post.media:
            data["link"] = first_link.group(0).rstrip(".,;:!?)")
        for i, media in enumerate(post.media):
            data[f"attached_media[{i}]"] = json.dumps({"media_fbid": self._upload(media.path, media.alt)})
        made = self.graph.post(f"{self.page}/feed", data, effect=True)
        post_id = str(made["id"])
        return Published(remote_id=post_id, url=self._permalink(post_id))

    def _upload(self, path: Path, alt: str) -> str:
        """An unpublished photo of the Page: nothing is public until a post attaches it."""
        made = self.graph.post(f"{self.page}/photos", {"published": "false", "alt_text_custom": alt},
                               files={"source": (path.name, read_image(path))}, effect=False)
        return str(made["id"])

    def _permalink(self, object_id: str) -> str | None:
        """Best effort: the post is out whatever this read says."""
        try:
            return self.graph.get(object_id, {"fields": "permalink_url"}).get("permalink_url")
        except NetworkError:
            return None

    def find_published(self, post: Post) -> Published | None:
        """The Page's post (or comment in the thread) with this text, made since shortly before it was due."""
        since = (post.scheduled_at or datetime.now(UTC)) - timedelta(minutes=10)
        parent = self._comments_on(post)
        if parent is not None:
            listing = self.graph.get(f"{parent}/comments", {
                "fields": "id,message,created_time,permalink_url,from", "filter": "stream",
                "order": "reverse_chronological", "limit": 50})
            found = reads.match(listing, post.text, since, author=self.page, taken=post.taken)
            return Published(str(found["id"]), found.get("permalink_url"), {"comment_on": parent}) if found else None
        listing = self.graph.get(f"{self.page}/posts", {
            "fields": "id,message,created_time,permalink_url", "since": int(since.timestamp()), "limit": 25})
        found = reads.match(listing, post.text, since, taken=post.taken)
        return Published(str(found["id"]), found.get("permalink_url")) if found else None

    def check(self) -> AccountInfo:
        page = self.graph.get(self.page, {"fields": "id,name,username,link"})
        name = str(page.get("username") or page.get("name") or self.page)
        return AccountInfo(handle=name, url=page.get("link") or f"https://www.facebook.com/{self.page}",
                           limits={"max_characters": MAX_LENGTH, "replies": self.settings.replies,
                                   "api": self.settings.api_base_url})

    # -- reading back (bot/reach/) --------------------------------------------------------------------------

    def counts(self, refs: list[str]) -> dict[str, Counts]:
        """Reactions, comments and shares by id, 50 per request (a comment has no shares: asked apart); an
        object that is gone is left out."""
        posts = [r for r in refs if r.startswith(f"{self.page}_")]  # a Page post's id is PAGEID_POSTID
        comments = [r for r in refs if r not in posts]
        out: dict[str, Counts] = {}
        for ids, fields in ((posts, reads.POST_COUNTS), (comments, reads.COMMENT_COUNTS)):
            for i in range(0, len(ids), IDS_PER_REQUEST):
                out.update(self._counts(ids[i:i + IDS_PER_REQUEST], fields))
        return out

    def _counts(self, ids: list[str], fields: str) -> dict[str, Counts]:
        """One multiple-id read; Graph refuses all of it when one id is gone, so then each is read alone."""
        try:
            found = self.graph.get("", {"ids": ",".join(ids), "fields": fields})
        except PermanentError:
            if len(ids) == 1:
                return {}
            return {k: v for one in ids for k, v in self._counts([one], fields).items()}
        return {k: reads.counts_of(v) for k, v in found.items() if isinstance(v, dict)}

    def mentions(self, cursor: str | None) -> MentionsPage:
        """Comments by others on the Page's recent posts, after ``cursor`` (a Unix time), oldest first."""
        listing = self.graph.get(f"{self.page}/posts", {"fields": reads.COMMENTS_OF_POSTS, "limit": 25})
        return reads.comments_of(listing, self.page, cursor)
