"""A Telegram channel, through python-telegram-bot (the only module that imports it): the organisation's bot,
an administrator of the channel, posts to it.

- python-telegram-bot is asynchronous only; our adapters are called synchronously, each account on a worker
  thread of its own. Each call runs to completion in ``asyncio.run`` on the calling thread, with a Bot and an
  HTTP client made for that call and closed after it: no event loop, client or connection outlives the call or
  is shared between threads, and the token is read afresh each time (a fixed variable works at once). A new
  connection per request costs nothing at a channel's few posts a day.
- Texts go as plain text: Telegram finds the links, @mentions and #hashtags itself (the entities it makes),
  and nothing needs escaping. It counts a text's characters (code points, after entities are parsed:
  TDLib's utf8_length): 4,096 for a message, 1,024 for a photo's caption. The Bot API has no alt text for a
  photo.
- The closing message is a reply to the thread's last post (``reply_parameters``; sent on its own if that
  post was deleted).
- 429 carries ``retry_after``: the account waits that long. 403 ("bot is not a member of the channel chat",
  "bot was kicked") and "chat not found" disable the account with the reason: a person must add the bot back.
- No idempotency, and no read-back: a bot never receives its own channel posts as updates (the Bot API server
  skips outgoing messages, telegram-bot-api Client.cpp need_skip_update_message) and has no method to read
  a chat's history. So after a lost answer nothing can tell whether the post exists: it is `unknown`, for a
  person. Where the request surely never left (no connection) or was refused (an error answer), it is not.
- No view counts: the Bot API's Message has none (they need a user account over MTProto), so this adapter is
  no Reader and the report says so.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import Field

from bot.networks.base import (
    AccountInfo,
    AuthRevoked,
    Network,
    OutcomeUnknown,
    PermanentError,
    Post,
    Published,
    RateLimited,
    TransientError,
    read_image,
)
from bot.networks.settings import AccountSettings

if TYPE_CHECKING:
    from telegram import Bot, Message
    from telegram.error import TelegramError

T = TypeVar("T")
MAX_TEXT = 4096
MAX_CAPTION = 1024
GONE = ("bot is not a member", "bot was kicked", "chat not found", "need administrator rights",
        "not enough rights")
"""Refusals that hold for every post until a person adds the bot back to the channel (or fixes `channel`)."""


class TelegramSettings(AccountSettings):
    channel: str = Field(pattern=r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,})$")
    """The channel: its public @username, or its numeric id (-100...) for a private one."""
    bot_token_env: str
    api_base_url: str = Field(default="https://api.telegram.org", pattern=r"^https?://")
    """The Bot API server (a self-hosted telegram-bot-api, or the official one)."""
    link_preview: bool = True
    silent: bool = False
    """Post without a notification sound for the channel's subscribers."""
    request_timeout: float = Field(default=30, gt=0)


class TelegramNetwork(Network):
    kind: ClassVar[str] = "telegram"
    settings_model: ClassVar[type[AccountSettings]] = TelegramSettings
    idempotent: ClassVar[bool] = False
    max_length: ClassVar[int] = MAX_TEXT
    carries_alt_text: ClassVar[bool] = False
    settings: TelegramSettings

    @classmethod
    def measure(cls, text: str) -> int:
        return len(text)

    @classmethod
    def media_text_limit(cls) -> int | None:
        return MAX_CAPTION

    def _run(self, work: Callable[[Bot], Awaitable[T]], *, effect: bool) -> T:
        """Run ``work`` with a Bot of its own, on a loop of its own, and classify what Telegram said."""
        token = self.secret(self.settings.bot_token_env)  # Misconfigured while it cannot be read
        return asyncio.run(self._with_bot(token, work, effect))

    async def _with_bot(self, token: str, work: Callable[[Bot], Awaitable[T]], effect: bool) -> T:
        from telegram import Bot
        from telegram.error import TelegramError
        from telegram.request import HTTPXRequest

        timeout = self.settings.request_timeout
        request = HTTPXRequest(connection_pool_size=1, connect_timeout=timeout, read_timeout=timeout,
                               write_timeout=timeout, pool_timeout=timeout, media_write_timeout=timeout)
        bot = Bot(token, base_url=f"{self.settings.api_base_url.rstrip('/')}/bot", request=request,
                  get_updates_request=request)
        try:
            return await work(bot)
        except TelegramError as exc:
            raise self.classify(exc, effect=effect) from None
        finally:
            await request.shutdown()

    def publish(self, post: Post) -> Published:
        if post.media and len(post.text) > MAX_CAPTION:
            raise PermanentError(f"a Telegram photo's caption is at most {MAX_CAPTION} characters "
                                 f"({len(post.text)} here): shorten the text or drop the image")
        photo = read_image(post.media[0].path) if post.media else None

        async def send(bot: Bot) -> Message:
            from telegram import LinkPreviewOptions, ReplyParameters

            reply = None
            if post.in_reply_to is not None:
                reply = ReplyParameters(message_id=int(post.in_reply_to.remote_id), allow_sending_without_reply=True)
            if photo is not None:  # one photo: the Bot API's caption goes with the first of a group only
                return await bot.send_photo(self.settings.channel, photo=photo, caption=post.text,
                                            reply_parameters=reply, disable_notification=self.settings.silent)
            return await bot.send_message(
                self.settings.channel, post.text, reply_parameters=reply, disable_notification=self.settings.silent,
                link_preview_options=LinkPreviewOptions(is_disabled=not self.settings.link_preview))

        message = self._run(send, effect=True)
        return Published(remote_id=str(message.message_id), url=self._url(message),
                         ref={"chat_id": message.chat.id})

    def _url(self, message: Message) -> str | None:
        username = message.chat.username or (self.settings.channel[1:] if self.settings.channel.startswith("@")
                                             else None)
        if username:
            return f"https://t.me/{username}/{message.message_id}"
        return f"https://t.me/c/{str(message.chat.id).removeprefix('-100')}/{message.message_id}"

    def classify(self, exc: TelegramError, *, effect: bool) -> Exception:
        """Never str() an InvalidToken: python-telegram-bot may quote the token in it."""
        import httpx
        from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
        from telegram.warnings import PTBDeprecationWarning

        channel = self.settings.channel
        if isinstance(exc, RetryAfter):
            with warnings.catch_warnings():  # python-telegram-bot 22 warns that an int becomes a timedelta
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                after = exc.retry_after
            wait = after if isinstance(after, timedelta) else timedelta(seconds=after)
            return RateLimited(f"Telegram flood control: retry after {int(wait.total_seconds())}s",
                               datetime.now(UTC) + max(wait, timedelta(seconds=1)))
        if isinstance(exc, InvalidToken):
            return AuthRevoked("Telegram refused the bot token: make a new one with @BotFather and set "
                               f"${self.settings.bot_token_env}")
        if isinstance(exc, Forbidden):
            return AuthRevoked(f"Telegram: {exc.message} ({channel}): add the bot to the channel as an "
                               "administrator who may post messages, then enable the account")
        if isinstance(exc, BadRequest):
            if any(words in exc.message.lower() for words in GONE):
                return AuthRevoked(f"Telegram: {exc.message} ({channel}): check `channel` and that the bot is an "
                                   "administrator there, then enable the account")
            return PermanentError(f"Telegram refused the post: {exc.message}")
        cause = exc.__cause__
        never_sent = isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if isinstance(exc, TimedOut | NetworkError):
            if never_sent or not effect:
                return TransientError(f"could not reach Telegram: {_what(exc)}")
            return OutcomeUnknown(f"Telegram did not answer after the post was sent ({_what(exc)}); a bot cannot "
                                  "read its channel back to tell whether it went out")
        return TransientError(f"Telegram: {_what(exc)}")

    def check(self) -> AccountInfo:
        async def ask(bot: Bot) -> tuple[Any, Any, Any]:
            me = await bot.get_me()
            chat = await bot.get_chat(self.settings.channel)
            member = await bot.get_chat_member(chat.id, me.id)
            return me, chat, member

        me, chat, member = self._run(ask, effect=False)
        can_post = member.status == "creator" or bool(getattr(member, "can_post_messages", False))
        url = f"https://t.me/{chat.username}" if chat.username else None
        return AccountInfo(handle=f"@{me.username}", url=url, limits={
            "channel": chat.title or self.settings.channel, "max_characters": MAX_TEXT, "max_caption": MAX_CAPTION,
            "bot_may_post": "yes" if can_post else f"no ({member.status}): make the bot an administrator who posts",
            "counts": "not available (the Bot API gives a bot no view counts)"})


def _what(exc: TelegramError) -> str:
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else exc.message
