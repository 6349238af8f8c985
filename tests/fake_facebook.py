"""A local Facebook Graph API (graph.facebook.com/v27.0) for the Page adapter's tests, as Meta documents it
(docs/graph-api: reference/page/feed, page/photos, object/comments, post, guides/error-handling, multiple-id
reads).

- POST /{page}/feed (message, link, attached_media[i]) -> {"id": "PAGEID_POSTID"}; the same message as the
  Page's last post is refused with 506 "Duplicate Post" (the error table's code).
- POST /{page}/photos (multipart ``source``, ``published=false``, ``alt_text_custom``) -> {"id"}: an unpublished
  photo, shown only once a post attaches it.
- POST /{post}/comments (message, attachment_id) -> {"id": "POSTID_COMMENTID"}.
- GET /{page}/posts, /{object}/comments, /{object}?fields=..., /?ids=a,b&fields=... with the field expansions
  the adapter asks for (reactions/comments summaries, shares, a post's comments); asking a comment for
  ``shares`` is error 100, and an id that does not exist fails the whole multiple-id read.
- Errors: {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}; a bad token is 190.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from tests.httpfake import FakeServer, Request, Response

V = "/v27.0"
PAGE_ID = "104000000000001"


def error(message: str, code: int, subcode: int | None = None, status: int = 400, **extra: Any) -> Response:
    body: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1b2C3d4"}
    if subcode is not None:
        body["error_subcode"] = subcode
    return Response(status, {"error": body | extra})


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S+0000")


class FakeFacebook(FakeServer):
    def __init__(self, token: str = "page-token") -> None:
        super().__init__()
        self.token = token
        self.posts: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.photos: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(900000000000001)
        self.now = lambda: datetime.now(UTC)

        def authorised(req: Request) -> bool:
            return req.fields().get("access_token") == self.token

        bad_token = error("Error validating access token: The session has been invalidated because the user "
                          "changed their password or Facebook has changed the session for security reasons.", 190, 460)

        @self.route("POST", rf"{V}/{PAGE_ID}/feed")
        def feed(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            f = req.fields()
            message = str(f.get("message") or "")
            attached = [json.loads(v)["media_fbid"] for k, v in sorted(f.items()) if k.startswith("attached_media[")]
            if not message and not attached and not f.get("link"):
                return error("(#100) The parameter message, link or attached_media is required", 100)
            last = max(self.posts.values(), key=lambda p: p["n"], default=None)
            if last is not None and last["message"] == message:
                return error("Duplicate status message", 506, 1455006, error_user_title="Duplicate Post",
                             error_user_msg="Duplicate posts cannot be published consecutively.")
            for photo in attached:
                if photo not in self.photos:
                    return error(f"(#100) Invalid media_fbid {photo}", 100)
            n = next(self.ids)
            post_id = f"{PAGE_ID}_{n}"
            self.posts[post_id] = {"id": post_id, "n": n, "message": message, "link": f.get("link"),
                                   "photos": attached, "created": self.now(), "reactions": 0, "shares": 0}
            return Response(200, {"id": post_id})

        @self.route("POST", rf"{V}/{PAGE_ID}/photos")
        def photos(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            f = req.fields()
            source = f.get("source")
            if not isinstance(source, bytes) or source[:8] != b"\x89PNG\r\n\x1a\n":
                return error("(#324) Requires upload file", 324)
            photo_id = str(next(self.ids))
            self.photos[photo_id] = {"id": photo_id, "alt": f.get("alt_text_custom"),
                                     "published": f.get("published", "true") != "false"}
            return Response(200, {"id": photo_id})

        @self.route("POST", rf"{V}/[0-9_]+/comments")
        def comment(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            parent = req.path.split("/")[-2]
            if parent not in self.posts:
                return error(f"(#100) Unsupported post request. Object with ID '{parent}' does not exist", 100, 33)
            f = req.fields()
            n = next(self.ids)
            comment_id = f"{parent.split('_')[-1]}_{n}"
            self.comments[comment_id] = {"id": comment_id, "n": n, "parent": parent, "message": f.get("message", ""),
                                         "from": {"id": PAGE_ID, "name": "Org"}, "created": self.now(),
                                         "photo": f.get("attachment_id"), "reactions": 0}
            return Response(200, {"id": comment_id})

        @self.route("GET", rf"{V}/{PAGE_ID}/posts")
        def posts(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            since = int(req.query.get("since", ["0"])[0])
            limit = int(req.query.get("limit", ["25"])[0])
            fields = req.query.get("fields", ["id"])[0]
            found = [p for p in sorted(self.posts.values(), key=lambda p: -p["n"]) if p["created"].timestamp() >= since]
            return Response(200, {"data": [self._post_view(p, fields) for p in found[:limit]]})

        @self.route("GET", rf"{V}/[0-9_]+/comments")
        def comments(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            parent = req.path.split("/")[-2]
            found = sorted((c for c in self.comments.values() if c["parent"] == parent), key=lambda c: -c["n"])
            return Response(200, {"data": [self._comment_view(c) for c in found]})

        @self.route("GET", rf"{V}/?")
        def many(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            ids = req.query.get("ids", [""])[0].split(",")
            fields = req.query.get("fields", ["id"])[0]
            missing = [i for i in ids if i not in self.posts and i not in self.comments]
            if missing:
                return error(f"(#803) Some of the aliases you requested do not exist: {','.join(missing)}", 803)
            if any(i in self.comments for i in ids) and "shares" in fields.split(","):
                return error("(#100) Tried accessing nonexisting field (shares) on node type (Comment)", 100)
            return Response(200, {i: self._counts_view(i, fields) for i in ids})

        @self.route("GET", rf"{V}/[0-9_]+")
        def node(req: Request) -> Response:
            if not authorised(req):
                return bad_token
            node_id = req.path.rsplit("/", 1)[-1]
            if node_id == PAGE_ID:
                return Response(200, {"id": PAGE_ID, "name": "Org", "username": "orgpage",
                                      "link": "https://www.facebook.com/orgpage"})
            if node_id in self.posts:
                return Response(200, self._post_view(self.posts[node_id], req.query.get("fields", ["id"])[0]))
            if node_id in self.comments:
                return Response(200, self._comment_view(self.comments[node_id]))
            return error(f"(#100) Object with ID '{node_id}' does not exist", 100, 33)

    def _permalink(self, object_id: str) -> str:
        return f"https://www.facebook.com/orgpage/posts/{object_id.split('_')[-1]}"

    def _post_view(self, post: dict[str, Any], fields: str) -> dict[str, Any]:
        view: dict[str, Any] = {"id": post["id"], "message": post["message"], "created_time": stamp(post["created"]),
                                "permalink_url": self._permalink(post["id"])}
        if "comments" in fields:
            found = sorted((c for c in self.comments.values() if c["parent"] == post["id"]), key=lambda c: -c["n"])
            view["comments"] = {"data": [self._comment_view(c) for c in found]}
        return view

    def _comment_view(self, comment: dict[str, Any]) -> dict[str, Any]:
        return {"id": comment["id"], "message": comment["message"], "created_time": stamp(comment["created"]),
                "from": comment["from"], "permalink_url": self._permalink(comment["id"])}

    def _counts_view(self, object_id: str, fields: str) -> dict[str, Any]:
        node = self.posts.get(object_id) or self.comments[object_id]
        replies = sum(1 for c in self.comments.values() if c["parent"] == object_id)
        view: dict[str, Any] = {"id": object_id,
                                "reactions": {"data": [], "summary": {"total_count": node["reactions"]}},
                                "comments": {"data": [], "summary": {"total_count": replies, "order": "ranked"}}}
        if "shares" in fields.split(",") and node.get("shares"):
            view["shares"] = {"count": node["shares"]}  # absent when nobody shared it
        return view

    def visitor_comments(self, post_id: str, name: str, username: str, message: str) -> str:
        """Someone (another Page) comments on one of the Page's posts."""
        n = next(self.ids)
        comment_id = f"{post_id.split('_')[-1]}_{n}"
        self.comments[comment_id] = {"id": comment_id, "n": n, "parent": post_id, "message": message,
                                     "from": {"id": str(n), "name": name, "username": username},
                                     "created": self.now(), "photo": None, "reactions": 0}
        return comment_id
