"""X, through tweepy. The only module that imports it.

X has no idempotency: a post whose request may have reached X is never retried blindly. A timeout or a
dropped connection after sending is "outcome unknown"; where the account's API tier can read its own posts,
the dispatcher asks find_published() to settle it, otherwise a person is asked to (`campaign-bot resolve`).
wait_on_rate_limit stays False: tweepy would otherwise sleep inside a worker until the reset.
tweepy and twitter-text are imported where they are used, so `validate` and `status` load only what they
need (twitter-text, to measure X texts; each text is parsed once).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import model_validator

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
from bot.networks.reading import NOT_ON_THIS_TIER, Counts, Mention, MentionsPage, Reader, ReadNotAvailable
from bot.networks.secrets import Secrets
from bot.networks.settings import AccountSettings
from bot.networks.x.text import MAX_WEIGHTED, ParsedText, parse

if TYPE_CHECKING:
    import requests
    import tweepy

READ_TIERS = ("pay-per-use", "basic", "pro")
URL_RE = re.compile(r"https?://\S+")


class XSettings(AccountSettings):
    consumer_key_env: str | None = None
    consumer_secret_env: str | None = None
    access_token_env: str | None = None
    access_token_secret_env: str | None = None
    bearer_token_env: str | None = None
    """An OAuth 2.0 user-context access token (Authorization Code with PKCE), instead of the four OAuth 1.0a keys."""
    tier: Literal["pay-per-use", "free", "basic", "pro"] = "pay-per-use"
    request_timeout: float = 30

    @model_validator(mode="after")
    def _one_auth(self) -> XSettings:
        oauth1 = [self.consumer_key_env, self.consumer_secret_env, self.access_token_env, self.access_token_secret_env]
        if self.bearer_token_env and any(oauth1):
            raise ValueError("use either the four OAuth 1.0a *_env keys or bearer_token_env, not both")
        if not self.bearer_token_env and not all(oauth1):
            raise ValueError("needs consumer_key_env, consumer_secret_env, access_token_env and "
                             "access_token_secret_env (OAuth 1.0a), or bearer_token_env (OAuth 2.0 user token)")
        return self

    @property
    def oauth1(self) -> bool:
        return not self.bearer_token_env


def _timeout_adapter(timeout: float) -> Any:
    """tweepy's Client sends without a timeout; a hung connection must not hold a worker forever."""
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            return super().send(request, **kwargs)

    return TimeoutAdapter()


def _parse(text: str, config: dict[str, Any] | None) -> ParsedText:
    if config is None:  # version3, what X uses today (version2 differs only in not discounting emoji)
        return parse(text)
    from twitter_text import parse_tweet

    result = parse_tweet(text, config)
    return ParsedText(int(result.weightedLength), bool(result.valid))


@lru_cache(maxsize=1024)
def parse_text(text: str) -> ParsedText:
    """twitter-text's verdict on ``text`` with X's rules, parsed once however often validate and the
    dispatcher ask (length, then validity)."""
    return _parse(text, None)


def weighted_length(text: str, config: dict[str, Any] | None = None) -> int:
    """X's weighted length (twitter-text v3): 280 at most, a URL counts 23, CJK and emoji count 2."""
    return (parse_text(text) if config is None else _parse(text, config)).weighted_length


def is_valid_post(text: str, config: dict[str, Any] | None = None) -> bool:
    """twitter-text's verdict: not empty, within 280 weighted, no characters X refuses (U+FFFE, U+FFFF...)."""
    return (parse_text(text) if config is None else _parse(text, config)).valid


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached X (so retrying cannot duplicate)."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        inner = exc.args[0] if exc.args else None
        reason = getattr(inner, "reason", inner)  # urllib3's MaxRetryError carries the cause
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    return False


class XNetwork(Network, Reader):
    kind: ClassVar[str] = "x"
    settings_model: ClassVar[type[AccountSettings]] = XSettings
    idempotent: ClassVar[bool] = False
    max_length: ClassVar[int] = MAX_WEIGHTED
    settings: XSettings

    def __init__(self, account_id: str, settings: AccountSettings, store: AccountStore | None = None,
                 secrets: Secrets | None = None) -> None:
        super().__init__(account_id, settings, store, secrets)
        self._client: tweepy.Client | None = None
        self._api: tweepy.API | None = None
        self._user: tuple[str, str] | None = None

    @classmethod
    def measure(cls, text: str) -> int:
        return weighted_length(text)

    @classmethod
    def text_problem(cls, text: str) -> str | None:
        parsed = parse_text(text)
        if parsed.weighted_length <= MAX_WEIGHTED and not parsed.valid:
            return "X would refuse this text (it is empty or holds characters X does not accept)"
        return None

    @classmethod
    def media_problem(cls, settings: AccountSettings) -> str | None:
        if isinstance(settings, XSettings) and not settings.oauth1:
            return ("images on X go through the v1.1 media upload, which needs OAuth 1.0a keys; this account "
                    "uses an OAuth 2.0 token (bearer_token_env)")
        return None

    def client(self) -> tweepy.Client:
        """The v2 client; raises Misconfigured while a secret cannot be read (and tries again next time)."""
        import tweepy

        if self._client is None:
            s = self.settings
            if s.oauth1:
                client = tweepy.Client(
                    consumer_key=self.secret(s.consumer_key_env or ""),
                    consumer_secret=self.secret(s.consumer_secret_env or ""),
                    access_token=self.secret(s.access_token_env or ""),
                    access_token_secret=self.secret(s.access_token_secret_env or ""),
                    wait_on_rate_limit=False,
                )
            else:
                client = tweepy.Client(bearer_token=self.secret(s.bearer_token_env or ""), wait_on_rate_limit=False)
            client.session.mount("https://", _timeout_adapter(s.request_timeout))
            self._client = client
        return self._client

    def api(self) -> tweepy.API:
        """v1.1, for media upload only (OAuth 1.0a)."""
        import tweepy

        if self._api is None:
            c = self.client()
            auth = tweepy.OAuth1UserHandler(c.consumer_key, c.consumer_secret, c.access_token, c.access_token_secret)
            self._api = tweepy.API(auth, timeout=self.settings.request_timeout, wait_on_rate_limit=False)
        return self._api

    def _upload(self, post: Post) -> list[str]:
        problem = self.media_problem(self.settings)
        if problem:
            raise PermanentError(problem)
        ids = []
        for media in post.media:
            uploaded = self.api().media_upload(filename=str(media.path))
            self.api().create_media_metadata(uploaded.media_id, media.alt[:1000])
            ids.append(str(uploaded.media_id))
        return ids

    def publish(self, post: Post) -> Published:
        import requests
        import tweepy

        try:
            media_ids = self._upload(post) if post.media else None
        except (tweepy.TweepyException, requests.RequestException) as exc:
            # Nothing is visible until the post is created: an upload failure is safe to retry.
            error = self.classify(exc)
            raise (TransientError(str(error)) if isinstance(error, OutcomeUnknown) else error) from exc
        try:
            response = self.client().create_tweet(
                text=post.text,
                in_reply_to_tweet_id=post.in_reply_to.remote_id if post.in_reply_to else None,
                media_ids=media_ids,
                user_auth=self.settings.oauth1,
            )
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise self.classify(exc) from exc
        tweet_id = str(response.data["id"])
        return Published(remote_id=tweet_id, url=f"https://x.com/i/status/{tweet_id}")

    def classify(self, exc: Exception) -> Exception:
        import requests
        import tweepy

        if isinstance(exc, tweepy.TooManyRequests):
            return RateLimited(f"X rate limit: {_messages(exc)}", _reset_time(exc.response))
        if isinstance(exc, tweepy.Unauthorized):
            return AuthRevoked(f"X refused the credentials: {_messages(exc)}")
        if isinstance(exc, tweepy.Forbidden):
            text = _messages(exc)
            if "duplicate" in text.lower():
                return PermanentError("X refused a duplicate post: the same text was posted recently; add "
                                      f"call_to_action variants so accounts can rotate ({text})")
            return PermanentError(f"X forbids this post: {text}")
        if isinstance(exc, tweepy.BadRequest | tweepy.NotFound):
            return PermanentError(f"X refused the post: {_messages(exc)}")
        if isinstance(exc, tweepy.TwitterServerError):
            code = exc.response.status_code
            if code in (502, 503):
                return TransientError(f"X server error: {_messages(exc)}")
            return OutcomeUnknown(f"X server error {code}: the post may have been created")
        if isinstance(exc, requests.RequestException):
            if _not_sent(exc):
                return TransientError(f"could not connect to X: {type(exc).__name__}")
            return OutcomeUnknown(f"X did not answer ({type(exc).__name__}) after the request was sent")
        if isinstance(exc, tweepy.HTTPException):
            return PermanentError(f"X: {_messages(exc)}")
        return TransientError(f"tweepy: {exc}")

    def me(self) -> tuple[str, str]:
        if self._user is None:
            data = self.client().get_me(user_auth=self.settings.oauth1).data
            self._user = (str(data["id"]), str(data["username"]))
        return self._user

    def find_published(self, post: Post) -> Published | None:
        if self.settings.tier not in READ_TIERS:
            return None
        user_id, _ = self.me()
        since = (post.scheduled_at or datetime.now(UTC)) - timedelta(minutes=10)
        response = self.client().get_users_tweets(user_id, max_results=20, start_time=since,
                                                  user_auth=self.settings.oauth1)
        # X rewrites links to t.co: compare with every URL folded to one placeholder.
        wanted = URL_RE.sub("URL", post.text).strip()
        for tweet in response.data or []:
            if URL_RE.sub("URL", tweet["text"]).strip() == wanted and str(tweet["id"]) not in post.taken:
                return Published(remote_id=str(tweet["id"]), url=f"https://x.com/i/status/{tweet['id']}")
        return None

    def check(self) -> AccountInfo:
        import requests
        import tweepy

        try:
            _, username = self.me()
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise self.classify(exc) from exc
        return AccountInfo(handle=f"@{username}", url=f"https://x.com/{username}",
                           limits={"tier": self.settings.tier, "max_weighted_length": MAX_WEIGHTED,
                                   "media": "yes" if self.settings.oauth1 else "no (OAuth 2.0 token)",
                                   "reads_to_settle_unknown_outcomes": self.settings.tier in READ_TIERS})


    # -- reading back (bot/reach/): kept together at the end of the class ------------------------------------

    def _reads(self) -> None:
        if self.settings.tier not in READ_TIERS:
            raise ReadNotAvailable(f"X {self.settings.tier} tier: {NOT_ON_THIS_TIER}")

    def counts(self, refs: list[str]) -> dict[str, Counts]:
        """public_metrics of up to 100 posts per request (GET /2/tweets), where the tier can read."""
        import requests
        import tweepy

        self._reads()
        out: dict[str, Counts] = {}
        try:
            for i in range(0, len(refs), 100):
                found = self.client().get_tweets(refs[i:i + 100], tweet_fields=["public_metrics"],
                                                 user_auth=self.settings.oauth1)
                for tweet in found.data or []:
                    m = tweet["public_metrics"] or {}
                    out[str(tweet["id"])] = Counts(reposts=m.get("retweet_count", 0), likes=m.get("like_count", 0),
                                                   replies=m.get("reply_count", 0), quotes=m.get("quote_count", 0))
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise self.classify(exc) from exc
        return out

    def mentions(self, cursor: str | None) -> MentionsPage:
        """The account's mentions after ``cursor`` (a post id), where the tier can read; a reply or quote
        names the post it answers."""
        import requests
        import tweepy

        self._reads()
        try:
            user_id, _ = self.me()
            found = self.client().get_users_mentions(
                user_id, since_id=cursor, max_results=100, expansions=["author_id"],
                tweet_fields=["referenced_tweets", "created_at"], user_auth=self.settings.oauth1)
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise self.classify(exc) from exc
        users = {str(u["id"]): str(u["username"]) for u in (found.includes or {}).get("users", [])}
        mentions = []
        for tweet in sorted(found.data or [], key=lambda t: int(t["id"])):
            refs = {r["type"]: str(r["id"]) for r in (tweet.get("referenced_tweets") or [])}
            kind = "reply" if "replied_to" in refs else "quote" if "quoted" in refs else "mention"
            created = tweet.get("created_at")
            mentions.append(Mention(
                remote_id=str(tweet["id"]), kind=kind, author=f"@{users.get(str(tweet.get('author_id')), '')}",
                text=str(tweet["text"]), url=f"https://x.com/i/status/{tweet['id']}",
                subject=refs.get("replied_to") or refs.get("quoted"),
                created_at=created if isinstance(created, datetime) else None))
        newest = (found.meta or {}).get("newest_id")
        return MentionsPage(mentions, str(newest) if newest else None)


def _messages(exc: Exception) -> str:
    import tweepy

    if isinstance(exc, tweepy.HTTPException):
        parts = list(exc.api_messages) or [str(exc)]
        return f"{exc.response.status_code} " + "; ".join(parts)
    return str(exc)


def _reset_time(response: Any) -> datetime | None:
    """The latest reset among the limits that are exhausted (15-minute and 24-hour user limits)."""
    headers = {k.lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    resets = []
    for prefix in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"):
        remaining, reset = headers.get(f"{prefix}-remaining"), headers.get(f"{prefix}-reset")
        if reset and (remaining is None or remaining == "0"):
            try:
                resets.append(datetime.fromtimestamp(int(reset), UTC))
            except ValueError:
                continue
    return max(resets) if resets else None
