"""A local Threads API (graph.threads.net/v1.0) for the adapter's tests, as Meta documents it
(developers.facebook.com/docs/threads: posts, troubleshooting, reply management, insights, mentions, overview).

- Containers: POST /{user}/threads makes one (TEXT or IMAGE; an image is fetched from its image_url, as Meta
  "cURLs" it, and a failed fetch leaves the container in ERROR); GET /{container}?fields=status reads
  IN_PROGRESS (for ``processing_reads`` reads), then FINISHED; PUBLISHED once published, EXPIRED after 24 h.
- POST /{user}/threads_publish publishes a FINISHED container once. Too early: code 24, subcode 4279009
  ("Media Not Found", as reported in fbsamples/threads_api#70). Published already: a refusal (ASSUMED: the
  behaviour is not documented). Over the 250-posts-a-day quota: a refusal whose code is INVENTED (Meta does not
  document it); GET /{user}/threads_publishing_limit tells.
- Texts: 500 characters, an emoji counting its UTF-8 bytes; more than 5 links fail (LINK_LIMIT_EXCEEDED); the
  error codes and messages of these two refusals are INVENTED in the documented envelope.
- Errors: {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}; a bad token is code 190.
"""

from __future__ import annotations

import itertools
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import regex

from tests.httpfake import FakeServer, Request, Response

V = "/v1.0"
USER_ID = "17841400000000001"


def error(message: str, code: int, subcode: int | None = None, kind: str = "OAuthException", status: int = 400,
          **extra: Any) -> Response:
    body: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGh"}
    if subcode is not None:
        body["error_subcode"] = subcode
    return Response(status, {"error": body | extra})


def documented_length(text: str) -> int:
    """As the posts page words it: characters, an emoji counting the bytes of its UTF-8."""
    return sum(len(g.encode()) if regex.search(r"\p{Extended_Pictographic}|\p{Regional_Indicator}", g) else len(g)
               for g in regex.findall(r"\X", text))


class FakeThreads(FakeServer):
    def __init__(self, token: str = "threads-token", username: str = "org_threads") -> None:
        super().__init__()
        self.token, self.username = token, username
        self.containers: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(18000000000000001)
        self.quota_total = 250
        self.processing_reads = 0
        """How many status reads a new container answers IN_PROGRESS before FINISHED."""
        self.now = lambda: datetime.now(UTC)
        self.insights: dict[str, dict[str, int]] = {}
        self.mentions: list[dict[str, Any]] = []
        self.mentions_allowed = True
        self.publish_calls = 0
        self.state = threading.Lock()

        def authorised(req: Request) -> bool:
            return req.fields().get("access_token") == self.token

        bad_token = error("Invalid OAuth access token - Cannot parse access token", 190)

        @self.route("POST", rf"{V}/(me|{USER_ID})/threads")
        def create(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            f = req.fields()
            media_type, text = f.get("media_type"), f.get("text") or ""
            if media_type not in ("TEXT", "IMAGE"):
                return error("(#100) Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}", 100)
            if media_type == "TEXT" and not text:
                return error("(#100) The parameter text is required", 100)
            if documented_length(text) > 500:  # INVENTED wording; the limit is documented
                return error("(#100) Param text must be at most 500 characters long.", 100)
            if len(set(re.findall(r"https?://[^\s<>\"]+", text))) > 5:  # INVENTED code, documented name
                return error("Too many links", 100, kind="THApiException",
                             error_user_title="THREADS_API__LINK_LIMIT_EXCEEDED")
            reply_to = f.get("reply_to_id")
            if reply_to and reply_to not in self.media:
                return error(f"Unsupported post request. Object with ID '{reply_to}' does not exist", 100, 33,
                             kind="THApiException")
            if len(f.get("alt_text") or "") > 1000:
                return error("(#100) Param alt_text must be at most 1000 characters long.", 100)
            container: dict[str, Any] = {
                "id": str(next(self.ids)), "status": "IN_PROGRESS" if self.processing_reads else "FINISHED",
                "reads_left": self.processing_reads, "text": text, "media_type": media_type, "reply_to": reply_to,
                "alt_text": f.get("alt_text"), "image_url": f.get("image_url"), "created": self.now()}
            if media_type == "IMAGE":
                try:
                    fetched = httpx.get(str(f.get("image_url")), timeout=5)
                    ok = fetched.status_code == 200 and fetched.content[:8] == b"\x89PNG\r\n\x1a\n"
                except httpx.HTTPError:
                    ok = False
                if not ok:
                    container.update(status="ERROR", error_message="FAILED_DOWNLOADING_IMAGE")
            with self.state:
                self.containers[container["id"]] = container
            return Response(200, {"id": container["id"]})

        @self.route("POST", rf"{V}/(me|{USER_ID})/threads_publish")
        def publish(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            with self.state:
                self.publish_calls += 1
                container = self.containers.get(str(req.fields().get("creation_id")))
                if container is None:
                    return error("Unsupported post request. Object does not exist", 100, 33, kind="THApiException")
                self._age(container)
                if container["status"] in ("IN_PROGRESS", "ERROR"):
                    return error("The requested resource does not exist", 24, 4279009, is_transient=False,
                                 error_user_title="Media Not Found")
                if container["status"] == "EXPIRED":
                    return error("The media container has expired", 100, kind="THApiException")  # ASSUMED
                if container["status"] == "PUBLISHED":
                    return error("The media has already been published", 100, kind="THApiException")  # ASSUMED
                if self.used(replies=container["reply_to"] is not None) >= self._total(container["reply_to"]):
                    return error("Posting quota exceeded", 100, kind="THApiException")  # INVENTED
                media_id = str(next(self.ids))
                container.update(status="PUBLISHED", media_id=media_id)
                self.media[media_id] = {
                    "id": media_id, "text": container["text"], "reply_to": container["reply_to"],
                    "alt_text": container["alt_text"], "image_url": container["image_url"], "published": self.now(),
                    "permalink": f"https://www.threads.com/@{self.username}/post/{media_id}"}
            return Response(200, {"id": media_id})

        @self.route("GET", rf"{V}/(me|{USER_ID})/(threads|replies)")
        def listing(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            replies = req.path.endswith("/replies")
            since = int(req.query.get("since", ["0"])[0])
            limit = int(req.query.get("limit", ["25"])[0])
            found = [m for m in sorted(self.media.values(), key=lambda m: m["published"], reverse=True)
                     if (m["reply_to"] is not None) == replies and m["published"].timestamp() >= since]
            return Response(200, {"data": [self._view(m) for m in found[:limit]],
                                  "paging": {"cursors": {"before": "QVFIUk", "after": "QVFIUl"}}})

        @self.route("GET", rf"{V}/(me|{USER_ID})/threads_publishing_limit")
        def publishing_limit(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            return Response(200, {"data": [{
                "quota_usage": self.used(replies=False), "config": {"quota_total": self.quota_total,
                                                                    "quota_duration": 86400},
                "reply_quota_usage": self.used(replies=True), "reply_config": {"quota_total": 1000,
                                                                               "quota_duration": 86400}}]})

        @self.route("GET", rf"{V}/(me|{USER_ID})/mentions")
        def mentions(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            if not self.mentions_allowed:  # the token lacks threads_manage_mentions
                return error("(#10) Application does not have permission for this action", 10)
            since = int(req.query.get("since", ["0"])[0])
            found = [m for m in reversed(self.mentions) if int(m["_at"]) >= since]
            return Response(200, {"data": [{k: v for k, v in m.items() if k != "_at"} for m in found]})

        @self.route("GET", rf"{V}/(me|{USER_ID})")
        def me(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            return Response(200, {"id": USER_ID, "username": self.username})

        @self.route("GET", rf"{V}/\d+/insights")
        def insights(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            media_id = req.path.split("/")[-2]
            if media_id not in self.media:
                return error(f"Object with ID '{media_id}' does not exist", 100, 33, kind="THApiException")
            counts = self.insights.get(media_id, {})
            metrics = req.query.get("metric", [""])[0].split(",")
            return Response(200, {"data": [{"name": m, "period": "lifetime", "values": [{"value": counts.get(m, 0)}],
                                            "title": m.title(), "id": f"{media_id}/insights/{m}/lifetime"}
                                           for m in metrics]})

        @self.route("GET", rf"{V}/\d+")
        def node(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            node_id = req.path.rsplit("/", 1)[-1]
            fields = req.query.get("fields", ["id"])[0].split(",")
            if node_id in self.containers:
                container = self.containers[node_id]
                with self.state:
                    self._age(container)
                    if container["status"] == "IN_PROGRESS":
                        container["reads_left"] -= 1
                        if container["reads_left"] < 0:
                            container["status"] = "FINISHED"
                view = {"id": node_id, "status": container["status"]}
                if container.get("error_message") and "error_message" in fields:
                    view["error_message"] = container["error_message"]
                return Response(200, view)
            if node_id in self.media:
                if "status" in fields:  # a media id is not a container (exileum/meta-mcp#143)
                    return error("Tried accessing nonexisting field (status)", 100, kind="THApiException")
                return Response(200, {k: v for k, v in self._view(self.media[node_id]).items() if k in fields})
            return error(f"Object with ID '{node_id}' does not exist", 100, 33, kind="THApiException")

    def _age(self, container: dict[str, Any]) -> None:
        expired = self.now() - container["created"] > timedelta(hours=24)
        if container["status"] in ("IN_PROGRESS", "FINISHED") and expired:
            container["status"] = "EXPIRED"

    def _total(self, reply_to: str | None) -> int:
        return 1000 if reply_to is not None else self.quota_total

    def used(self, *, replies: bool) -> int:
        since = self.now() - timedelta(hours=24)
        return sum(1 for m in self.media.values() if (m["reply_to"] is not None) == replies and m["published"] > since)

    def _view(self, media: dict[str, Any]) -> dict[str, Any]:
        return {"id": media["id"], "media_type": "IMAGE" if media["image_url"] else "TEXT_POST",
                "text": media["text"], "permalink": media["permalink"], "username": self.username,
                "timestamp": media["published"].strftime("%Y-%m-%dT%H:%M:%S+0000"),
                **({"replied_to": {"id": media["reply_to"]}} if media["reply_to"] else {}),
                **({"alt_text": media["alt_text"]} if media["alt_text"] else {})}

    def posts(self) -> list[dict[str, Any]]:
        return sorted(self.media.values(), key=lambda m: m["published"])

    def mention(self, username: str, text: str, replied_to: str | None = None,
                at: datetime | None = None) -> str:
        """Someone mentions the account (replying to one of its posts when ``replied_to`` is given)."""
        when = at or self.now()
        mention_id = str(next(self.ids))
        item: dict[str, Any] = {"id": mention_id, "text": text, "username": username, "_at": when.timestamp(),
                                "permalink": f"https://www.threads.com/@{username}/post/{mention_id}",
                                "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S+0000")}
        if replied_to:
            item["replied_to"] = {"id": replied_to}
        self.mentions.append(item)
        return mention_id
