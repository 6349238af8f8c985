"""A local Telegram Bot API server for the channel adapter's tests, as core.telegram.org/bots/api documents it
and as the Bot API server's source (github tdlib/telegram-bot-api, Client.cpp and Query.cpp) answers.

- POST /bot<TOKEN>/<method>, fields urlencoded or multipart (nested objects as JSON strings), answers
  {"ok": true, "result": ...} or {"ok": false, "error_code", "description"[, "parameters"]}.
- sendMessage / sendPhoto in the channel: message ids count up per chat; 4,096 characters of text and 1,024
  of caption (code points: TDLib's utf8_length), else "Bad Request: message is too long" / "message caption is
  too long"; a reply to a message that is not there: "Bad Request: message to be replied not found" (unless
  allow_sending_without_reply).
- Refusals by switch: the bot not a member of the channel, or kicked (403, Client.cpp's texts), flood
  control (429 with parameters.retry_after, Query.cpp set_retry_after_error), a bad token (401).
- Like the real server, it never gives the bot its own channel posts (no getUpdates here at all), and has no
  method to read a chat's history: nothing can settle a lost answer.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.httpfake import FakeServer, Request, Response

CHAT_ID = -1001234567890


def failure(code: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Response(code, body)


class FakeTelegram(FakeServer):
    def __init__(self, token: str = "123456:ABC-telegram-test-token", channel: str = "org_channel") -> None:
        super().__init__()
        self.token, self.channel = token, channel
        self.messages: list[dict[str, Any]] = []
        self.ids = itertools.count(1)
        self.member = True
        self.kicked = False
        self.retry_after: int | None = None

        def ok(result: Any) -> Response:
            return Response(200, {"ok": True, "result": result})

        def chat() -> dict[str, Any]:
            return {"id": CHAT_ID, "title": "Org channel", "username": self.channel, "type": "channel"}

        @self.route("POST", r"/bot[^/]+/\w+")
        def method(req: Request) -> Response:
            token, name = req.path.split("/")[1].removeprefix("bot"), req.path.split("/")[2]
            if token != self.token:
                return failure(401, "Unauthorized")
            f = req.fields()
            if name == "getMe":
                return ok({"id": 123456, "is_bot": True, "first_name": "Org bot", "username": "org_bot",
                           "can_join_groups": False, "can_read_all_group_messages": False,
                           "supports_inline_queries": False})
            if name in ("getChat", "getChatMember", "sendMessage", "sendPhoto"):
                if str(f.get("chat_id")) not in (f"@{self.channel}", str(CHAT_ID)):
                    return failure(400, "Bad Request: chat not found")
                if self.kicked:
                    return failure(403, "Forbidden: bot was kicked from the channel chat")
                if not self.member:
                    return failure(403, "Forbidden: bot is not a member of the channel chat")
            if name == "getChat":
                return ok(chat() | {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": {
                    "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                    "premium_subscription": False, "gifts_from_channels": False}})
            if name == "getChatMember":
                return ok({"status": "administrator", "user": {"id": 123456, "is_bot": True, "first_name": "Org bot"},
                           "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                           "can_delete_messages": True, "can_manage_video_chats": True,
                           "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
                           "can_invite_users": True, "can_post_stories": True, "can_edit_stories": True,
                           "can_delete_stories": True, "can_post_messages": True, "can_edit_messages": True})
            if name in ("sendMessage", "sendPhoto"):
                if self.retry_after is not None:
                    return failure(429, f"Too Many Requests: retry after {self.retry_after}",
                                   retry_after=self.retry_after)
                return self._send(name, f, chat(), ok)
            return failure(404, "Not Found: method not found")

    def _send(self, name: str, f: dict[str, Any], chat: dict[str, Any], ok: Any) -> Response:
        text = str(f.get("text" if name == "sendMessage" else "caption") or "")
        if name == "sendMessage" and not text.strip():
            return failure(400, "Bad Request: message text is empty")
        if name == "sendMessage" and len(text.strip()) > 4096:
            return failure(400, "Bad Request: message is too long")
        if name == "sendPhoto" and len(text.strip()) > 1024:
            return failure(400, "Bad Request: message caption is too long")
        reply = json.loads(f["reply_parameters"]) if f.get("reply_parameters") else None
        parent = None
        if reply is not None:
            parent = next((m for m in self.messages if m["message_id"] == int(reply["message_id"])), None)
            if parent is None and not reply.get("allow_sending_without_reply"):
                return failure(400, "Bad Request: message to be replied not found")
        message: dict[str, Any] = {"message_id": next(self.ids), "date": int(time.time()), "chat": chat,
                                   "sender_chat": chat}
        if name == "sendPhoto":
            photo = f.get("photo")
            if not isinstance(photo, bytes) or photo[:8] != b"\x89PNG\r\n\x1a\n":
                return failure(400, "Bad Request: IMAGE_PROCESS_FAILED")
            message["photo"] = [{"file_id": f"AgAC{message['message_id']}", "file_unique_id": "AQAD",
                                 "width": 1, "height": 1, "file_size": len(photo)}]
            if text:
                message["caption"] = text
        else:
            message["text"] = text
        if parent is not None:
            message["reply_to_message"] = parent
        self.messages.append(message)
        return ok(message)

    def posted(self) -> list[dict[str, Any]]:
        return list(self.messages)
