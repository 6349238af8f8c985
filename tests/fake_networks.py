"""Local fake servers that speak enough of the X API v2 / v1.1 media, and of a Bluesky PDS (XRPC), for the
adapters' tests. The client libraries talk real HTTP to them on 127.0.0.1."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from tests.httpfake import FakeServer, Request, Response

# -- X ----------------------------------------------------------------------------------------------------

class RedirectAdapter(HTTPAdapter):
    """tweepy's hosts are hard-coded: send every request to the local fake instead, keeping the path."""

    def __init__(self, base_url: str, timeout: float = 5) -> None:
        super().__init__()
        self.base = urlsplit(base_url)
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(str(request.url))
        request.url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, ""))
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)


class FakeX(FakeServer):
    USER_ID = "1072250532645998596"

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.clock = clock
        """When a tweet was created (``at``), for tests on the injected clock."""
        self.tweets: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1456012973835788293)
        self.remaining = 100
        self.metrics: dict[str, dict[str, int]] = {}
        self.mentions: list[dict[str, Any]] = []

        @self.route("POST", "/2/tweets")
        def create(req: Request) -> Response:
            body = req.json()
            if any(t["text"] == body["text"] for t in self.tweets):
                return Response(403, {"detail": "You are not allowed to create a Tweet with duplicate content.",
                                      "type": "about:blank", "title": "Forbidden", "status": 403})
            tweet = {"id": str(next(self.ids)), "text": body["text"],
                     "in_reply_to": (body.get("reply") or {}).get("in_reply_to_tweet_id"),
                     "media_ids": (body.get("media") or {}).get("media_ids", []),
                     "at": self.clock() if self.clock else None}
            self.tweets.append(tweet)
            self.remaining -= 1
            return Response(201, {"data": {"id": tweet["id"], "text": tweet["text"],
                                           "edit_history_tweet_ids": [tweet["id"]]}},
                            {"x-rate-limit-limit": "100", "x-rate-limit-remaining": str(self.remaining),
                             "x-rate-limit-reset": str(int(time.time()) + 900)})

        @self.route("GET", "/2/users/me")
        def me(req: Request) -> Response:
            return Response(200, {"data": {"id": self.USER_ID, "name": "Org", "username": "org_x"}})

        @self.route("GET", r"/2/users/\d+/tweets")
        def timeline(req: Request) -> Response:
            data = [{"id": t["id"], "text": _tco(t["text"]), "edit_history_tweet_ids": [t["id"]]}
                    for t in reversed(self.tweets)]
            return Response(200, {"data": data, "meta": {"result_count": len(data)}})

        # Reads, as X API v2 answers them: GET /2/tweets (ids, tweet.fields=public_metrics) and the mentions
        # timeline (since_id; expansions=author_id puts the authors in includes.users; meta.newest_id).
        @self.route("GET", "/2/tweets")
        def lookup(req: Request) -> Response:
            ids = req.query.get("ids", [""])[0].split(",")
            data = [{"id": t["id"], "text": _tco(t["text"]), "edit_history_tweet_ids": [t["id"]],
                     "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
                                        "bookmark_count": 0, "impression_count": 0, **self.metrics.get(t["id"], {})}}
                    for t in self.tweets if t["id"] in ids]
            return Response(200, {"data": data} if data else {"errors": [{"title": "Not Found Error"}]})

        @self.route("GET", r"/2/users/\d+/mentions")
        def mentions(req: Request) -> Response:
            since = int(req.query.get("since_id", ["0"])[0])
            found = sorted((m for m in self.mentions if int(m["id"]) > since), key=lambda m: -int(m["id"]))
            if not found:
                return Response(200, {"meta": {"result_count": 0}})
            authors = {m["author_id"]: m["username"] for m in found}
            return Response(200, {
                "data": [{k: v for k, v in m.items() if k != "username"} for m in found],
                "includes": {"users": [{"id": i, "name": n, "username": n} for i, n in authors.items()]},
                "meta": {"newest_id": found[0]["id"], "oldest_id": found[-1]["id"], "result_count": len(found)}})

        @self.route("POST", "/1.1/media/upload.json")
        def upload(req: Request) -> Response:
            media_id = str(next(self.ids))
            self.media[media_id] = {"alt": None, "bytes": len(req.body)}
            return Response(200, {"media_id": int(media_id), "media_id_string": media_id, "size": len(req.body),
                                  "image": {"image_type": "image/png", "w": 1, "h": 1}})

        @self.route("POST", "/1.1/media/metadata/create.json")
        def metadata(req: Request) -> Response:
            body = req.json()
            self.media[str(body["media_id"])]["alt"] = body["alt_text"]["text"]
            return Response(200, b"")

    def answer(self, username: str, text: str, replied_to: str | None = None) -> str:
        """Someone mentions the account (replying to one of its posts when ``replied_to`` is given)."""
        tweet_id = str(next(self.ids))
        mention: dict[str, Any] = {"id": tweet_id, "text": text, "author_id": str(900 + len(self.mentions)),
                                   "username": username, "edit_history_tweet_ids": [tweet_id],
                                   "created_at": "2026-11-30T14:20:00.000Z"}
        if replied_to:
            mention["referenced_tweets"] = [{"type": "replied_to", "id": replied_to}]
        self.mentions.append(mention)
        return tweet_id

    def mount(self, network: Any) -> None:
        network.client().session.mount("https://", RedirectAdapter(self.url))
        if network.settings.oauth1:
            network.api().session.mount("https://", RedirectAdapter(self.url))


def _tco(text: str) -> str:
    import re

    return re.sub(r"https?://\S+", "https://t.co/abc123", text)


# -- Bluesky ------------------------------------------------------------------------------------------------

def _jwt(payload: dict[str, Any]) -> str:
    def enc(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'ES256K', 'typ': 'JWT'})}.{enc(payload)}.c2ln"


class FakeBluesky(FakeServer):
    DID = "did:plc:org123"

    def __init__(self, handle: str = "org.bsky.social", password: str = "app-pass-1234",
                 access_ttl: int = 7200, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.created: dict[str, datetime] = {}
        """When each record was created (by uri), for tests on the injected clock."""
        self.access_ttl = access_ttl
        self.handle, self.password = handle, password
        self.records: dict[str, dict[str, Any]] = {}
        """app.bsky.feed.post records by rkey."""
        self.reposts: dict[str, dict[str, Any]] = {}
        """app.bsky.feed.repost records by rkey."""
        self.blobs: list[bytes] = []
        self.logins = 0
        self.refreshes = 0
        self.valid_access: set[str] = set()
        self.valid_refresh: set[str] = set()
        self.tokens = itertools.count(1)
        self.cids = itertools.count(1)
        self.known_handles = {"amnesty.bsky.social": "did:plc:amnesty", handle: self.DID}
        self.counts: dict[str, dict[str, int]] = {}
        self.notifications: list[dict[str, Any]] = []

        def session_body() -> dict[str, Any]:
            n = next(self.tokens)
            access = _jwt({"scope": "com.atproto.access", "sub": self.DID, "iat": int(time.time()),
                           "exp": int(time.time()) + self.access_ttl, "n": n})
            refresh = _jwt({"scope": "com.atproto.refresh", "sub": self.DID, "exp": int(time.time()) + 86400 * 60,
                            "jti": f"r{n}"})
            self.valid_access.add(access)
            self.valid_refresh.add(refresh)
            return {"accessJwt": access, "refreshJwt": refresh, "handle": self.handle, "did": self.DID,
                    "active": True}

        def authorised(req: Request) -> bool:
            return req.headers.get("authorization", "").removeprefix("Bearer ") in self.valid_access

        unauthorised = Response(401, {"error": "InvalidToken", "message": "Token could not be verified"})

        @self.route("POST", "/xrpc/com.atproto.server.createSession")
        def create_session(req: Request) -> Response:
            body = req.json()
            if body.get("identifier") != self.handle or body.get("password") != self.password:
                return Response(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
            self.logins += 1
            return Response(200, session_body())

        @self.route("POST", "/xrpc/com.atproto.server.refreshSession")
        def refresh(req: Request) -> Response:
            token = req.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.valid_refresh:
                return Response(400, {"error": "ExpiredToken", "message": "Token has expired"})
            self.valid_refresh.discard(token)
            self.refreshes += 1
            return Response(200, session_body())

        @self.route("GET", "/xrpc/com.atproto.identity.resolveHandle")
        def resolve(req: Request) -> Response:
            handle = req.query.get("handle", [""])[0]
            if handle in self.known_handles:
                return Response(200, {"did": self.known_handles[handle]})
            return Response(400, {"error": "InvalidRequest", "message": "Unable to resolve handle"})

        @self.route("POST", "/xrpc/com.atproto.repo.uploadBlob")
        def upload(req: Request) -> Response:
            if not authorised(req):
                return unauthorised
            self.blobs.append(req.body)
            return Response(200, {"blob": {"$type": "blob", "ref": {"$link": f"bafkreiblob{len(self.blobs)}"},
                                           "mimeType": "image/png", "size": len(req.body)}})

        @self.route("POST", "/xrpc/com.atproto.repo.createRecord")
        def create_record(req: Request) -> Response:
            if not authorised(req):
                return unauthorised
            body = req.json()
            rkey, collection = body["rkey"], body.get("collection", "app.bsky.feed.post")
            store = self._collection(collection)
            if collection == "app.bsky.feed.repost" and body.get("validate") is not False:
                # @atproto/pds createRecord: a like or repost of the same subject is a "backlink conflict",
                # deleted in the same commit (packages/pds/src/actor-store/record/reader.ts getBacklinks).
                subject = body["record"].get("subject", {}).get("uri")
                for other in [k for k, r in store.items() if r["value"].get("subject", {}).get("uri") == subject]:
                    del store[other]
            if rkey in store:
                # As @atproto/pds answers: its repository throws a plain Error ("There is already a value at
                # key", packages/repo/src/mst/mst.ts), which XRPC turns into a 500, not an InvalidRequest 400.
                return Response(500, {"error": "InternalServerError", "message": "Internal Server Error"})
            uri = f"at://{self.DID}/{collection}/{rkey}"
            cid = f"bafyreicid{next(self.cids)}"
            store[rkey] = {"uri": uri, "cid": cid, "value": body["record"]}
            if self.clock:
                self.created[uri] = self.clock()
            return Response(200, {"uri": uri, "cid": cid})

        @self.route("GET", "/xrpc/com.atproto.repo.getRecord")
        def get_record(req: Request) -> Response:
            rkey = req.query.get("rkey", [""])[0]
            store = self._collection(req.query.get("collection", ["app.bsky.feed.post"])[0])
            if rkey not in store:
                return Response(400, {"error": "RecordNotFound", "message": f"Could not locate record: {rkey}"})
            return Response(200, store[rkey])

        @self.route("POST", "/xrpc/com.atproto.repo.deleteRecord")
        def delete_record(req: Request) -> Response:
            if not authorised(req):
                return unauthorised
            body = req.json()
            self._collection(body["collection"]).pop(body["rkey"], None)  # no-op when absent, as the PDS
            return Response(200, {})

        # The AppView's reads, as the PDS proxies them (lexicons app.bsky.feed.getPosts, at most 25 uris, and
        # app.bsky.notification.listNotifications: newest first, paged by an opaque cursor).
        @self.route("GET", "/xrpc/app.bsky.feed.getPosts")
        def get_posts(req: Request) -> Response:
            if not authorised(req):
                return unauthorised
            uris = req.query.get("uris", [])
            if len(uris) > 25:
                return Response(400, {"error": "InvalidRequest", "message": "uris must not have more than 25 elements"})
            posts = [self._post_view(uri) for uri in uris if self._rkey(uri) in self.records]
            return Response(200, {"posts": posts})

        @self.route("GET", "/xrpc/app.bsky.notification.listNotifications")
        def list_notifications(req: Request) -> Response:
            if not authorised(req):
                return unauthorised
            limit = int(req.query.get("limit", ["50"])[0])
            start = int(req.query.get("cursor", ["0"])[0])
            newest_first = sorted(self.notifications, key=lambda n: n["indexedAt"], reverse=True)
            page = newest_first[start:start + limit]
            body: dict[str, Any] = {"notifications": page, "priority": False}
            if start + limit < len(newest_first):
                body["cursor"] = str(start + limit)
            return Response(200, body)

    def _collection(self, collection: str) -> dict[str, dict[str, Any]]:
        return self.reposts if collection == "app.bsky.feed.repost" else self.records

    def _rkey(self, uri: str) -> str:
        return uri.rsplit("/", 1)[-1]

    def _post_view(self, uri: str) -> dict[str, Any]:
        record = self.records[self._rkey(uri)]
        counts = self.counts.get(uri, {})
        return {"uri": uri, "cid": record["cid"], "author": {"did": self.DID, "handle": self.handle},
                "record": record["value"], "replyCount": counts.get("replies", 0),
                "repostCount": counts.get("reposts", 0), "likeCount": counts.get("likes", 0),
                "quoteCount": counts.get("quotes", 0), "indexedAt": "2026-11-30T14:00:00.000Z", "labels": []}

    def answer(self, reason: str, author_handle: str, text: str, subject_uri: str | None = None,
               indexed_at: str = "2026-11-30T14:20:00.000Z") -> str:
        """Someone replies to, quotes or mentions the account: a notification as the AppView gives it."""
        n = len(self.notifications) + 1
        did = f"did:plc:author{n}"
        uri = f"at://{did}/app.bsky.feed.post/3kanswer{n:05d}"
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": indexed_at, "langs": ["en"]}
        if reason == "reply" and subject_uri:
            ref = {"uri": subject_uri, "cid": self.records[self._rkey(subject_uri)]["cid"]}
            record["reply"] = {"root": ref, "parent": ref}
        if reason == "quote" and subject_uri:
            record["embed"] = {"$type": "app.bsky.embed.record",
                               "record": {"uri": subject_uri, "cid": self.records[self._rkey(subject_uri)]["cid"]}}
        notification = {"uri": uri, "cid": f"bafyreianswer{n}", "author": {"did": did, "handle": author_handle},
                        "reason": reason, "record": record, "isRead": False, "indexedAt": indexed_at, "labels": []}
        if subject_uri:
            notification["reasonSubject"] = subject_uri
        self.notifications.append(notification)
        return uri

    def revoke_access_tokens(self) -> None:
        self.valid_access.clear()

    def posts(self) -> list[dict[str, Any]]:
        return [r["value"] for r in self.records.values()]


# -- Mastodon (a light one of our own, for load and fault tests; mastodon-mock is the reference) -------------

class FakeMastodon(FakeServer):
    """Statuses with Idempotency-Key (per token, as Mastodon keeps them, for an hour), optional latency; each
    token is its own account (its statuses listed newest first, paged by max_id as app/controllers/api/v1/
    accounts/statuses_controller.rb does); reblogs one per account and status, undone by unreblog; a status seen
    by an account says whether it reblogged it. ``clock``: the statuses' created_at and the keys' age (the
    tests' injected clock)."""

    KEY_MEMORY = timedelta(seconds=3600)
    """PostStatusService keeps an Idempotency-Key in Redis for 3,600 s after the status was made (``setex``)."""

    def __init__(self, latency: float = 0.0, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.latency = latency
        self.clock = clock
        self.statuses: list[dict[str, Any]] = []
        self.by_key: dict[tuple[str, str], dict[str, Any]] = {}
        self.key_made: dict[tuple[str, str], datetime] = {}
        self.ids = itertools.count(110000000000000000)
        self.reblogs: dict[tuple[str, str], dict[str, Any]] = {}
        """(token, status id) -> the reblog: one per account and status."""
        self.reblog_calls = 0
        self.reblogged: list[tuple[str, str]] = []
        """Every reblog made, in order (an unreblog does not take it off this list)."""
        self.remote: dict[str, str] = {}
        """Statuses of other instances that a search with resolve=true finds: URL -> their id here."""
        self.searches: list[tuple[str, bool]] = []

        @self.route("POST", "/api/v1/statuses")
        def create(req: Request) -> Response:
            if self.latency:
                time.sleep(self.latency)
            token = req.headers.get("authorization", "")
            key = req.headers.get("idempotency-key")
            with self.lock:
                if key and (token, key) in self.by_key:
                    if self._moment() - self.key_made[(token, key)] < self.KEY_MEMORY:
                        return Response(200, self.by_key[(token, key)])
                    del self.by_key[(token, key)]  # Redis let it expire: the request posts again
                form = {k: v[0] for k, v in req.form().items()}
                sid = str(next(self.ids))
                status: dict[str, Any] = {
                          "id": sid, "url": f"{self.url}/@org/{sid}", "uri": f"{self.url}/statuses/{sid}",
                          "content": form.get("status", ""), "language": form.get("language"),
                          "in_reply_to_id": form.get("in_reply_to_id"), "token": token,
                          "media_attachments": [], "created_at": self._now()}
                self.statuses.append(status)
                if key:
                    self.by_key[(token, key)] = status
                    self.key_made[(token, key)] = self._moment()
            return Response(200, status)

        @self.route("GET", "/api/v2/instance/?")
        def instance(req: Request) -> Response:
            return Response(200, {"domain": "fake.local", "version": "4.5.0", "api_versions": {"mastodon": 6},
                                  "configuration": {"statuses": {"max_characters": 500,
                                                                 "characters_reserved_per_url": 23}}})

        @self.route("GET", "/api/v1/accounts/verify_credentials")
        def me(req: Request) -> Response:
            account = self._account(req.headers.get("authorization", ""))
            name = "org" if account == "1" else f"user{account}"
            return Response(200, {"id": account, "acct": name, "username": name, "url": f"{self.url}/@{name}"})

        @self.route("GET", r"/api/v1/accounts/(\d+)/statuses")
        def statuses_of(req: Request) -> Response:
            account = req.path.split("/")[-2]
            limit = min(int(req.query.get("limit", ["20"])[0]), 40)
            max_id = req.query.get("max_id", [None])[0]
            with self.lock:
                mine = [st for st in reversed(self.statuses) if self._account(st["token"]) == account
                        and (max_id is None or int(st["id"]) < int(max_id))]
            return Response(200, [self._public(st) for st in mine[:limit]])

        @self.route("GET", r"/api/v1/statuses/(\d+)")
        def status(req: Request) -> Response:
            status_id = req.path.rstrip("/").split("/")[-1]
            token = req.headers.get("authorization", "")
            with self.lock:
                found = next((st for st in self.statuses if st["id"] == status_id), None)
                if found is None:
                    return Response(404, {"error": "Record not found"})
                return Response(200, {**self._public(found), "reblogged": (token, status_id) in self.reblogs})

        @self.route("POST", r"/api/v1/statuses/(\d+)/unreblog")
        def unreblog(req: Request) -> Response:
            """As Mastodon: undoing a reblog that is not there answers the status all the same."""
            token = req.headers.get("authorization", "")
            status_id = req.path.rstrip("/").split("/")[-2]
            with self.lock:
                self.reblogs.pop((token, status_id), None)
                found = next((st for st in self.statuses if st["id"] == status_id), None)
            if found is None:
                return Response(404, {"error": "Record not found"})
            return Response(200, {**self._public(found), "reblogged": False})

        @self.route("POST", r"/api/v1/statuses/(\d+)/reblog")
        def reblog(req: Request) -> Response:
            """As Mastodon's ReblogService: a second reblog by the same account returns the first."""
            if self.latency:
                time.sleep(self.latency)
            token = req.headers.get("authorization", "")
            status_id = req.path.rstrip("/").split("/")[-2]
            with self.lock:
                self.reblog_calls += 1
                if (token, status_id) not in self.reblogs:
                    self.reblogs[(token, status_id)] = {"id": str(next(self.ids)), "reblog": {"id": status_id},
                                                        "url": None, "content": "", "created_at": self._now()}
                    self.reblogged.append((token, status_id))
                return Response(200, self.reblogs[(token, status_id)])

        @self.route("GET", "/api/v2/search")
        def search(req: Request) -> Response:
            """Statuses of other instances this one can resolve (``remote``: URL -> local id), only with
            resolve=true, as Mastodon's SearchService (a URL query fetches the status when resolving)."""
            q = req.query.get("q", [""])[0]
            resolve = req.query.get("resolve", ["false"])[0] in ("true", "1", "True")
            self.searches.append((q, resolve))
            found = [{"id": self.remote[q], "url": q}] if resolve and q in self.remote else []
            return Response(200, {"accounts": [], "statuses": found, "hashtags": []})

        @self.route("GET", "/api/v1/notifications/?")
        def notifications(req: Request) -> Response:
            """No one answers here: the reach collector's reads find nothing, as most of them do (without this
            route each read was a 404, a failed read retried minutes later: the benchmarks measured that)."""
            if self.latency:
                time.sleep(self.latency)
            return Response(200, [])

        self.accounts: dict[str, str] = {}
        """token -> account id (each token its own account, numbered as they first call)."""

        @self.route("GET", "/_stats")
        def stats(req: Request) -> Response:
            with self.lock:
                return Response(200, {"statuses": len(self.statuses), "reblog_calls": self.reblog_calls,
                                      "reblogs": len(self.reblogs)})

    def _account(self, token: str) -> str:
        """Called with or without the lock held: dict.setdefault is atomic."""
        return self.accounts.setdefault(token, str(len(self.accounts) + 1))

    def _moment(self) -> datetime:
        return self.clock() if self.clock else datetime.now(UTC)

    def _now(self) -> str:
        now = self._moment()  # Mastodon stamps a status with its own time
        return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _public(self, status: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in status.items() if k != "token"}
