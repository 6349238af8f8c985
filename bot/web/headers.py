"""Security headers on every answer: what a browser may load and run on our pages, and who may frame them.

Only adds what a route did not set itself (a private page's `Referrer-Policy: no-referrer` stays). Pages load
scripts and styles from this site only (no inline script, no CDN); nobody may frame a page (the dashboard's
emergency stop could be clicked through a frame); forms may post here, and be redirected to an https server (a
supporter's Mastodon instance, to authorise). /docs, Swagger UI, also sets inline styles.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'{styles}; img-src 'self' data:{images}; "
          "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' https:{local}")
LOCAL_FORMS = " http://127.0.0.1:* http://localhost:*"
"""Development with servers on this machine (`[amplify] local_servers`): the connect form goes there."""


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool = False, local_servers: bool = False,
                 images: str | None = None) -> None:
        """``images``: one more origin pages may load images from (the organisation's logo_url)."""
        self.app = app
        local = LOCAL_FORMS if local_servers else ""
        self.common = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                       "Referrer-Policy": "strict-origin-when-cross-origin",
                       "Cross-Origin-Opener-Policy": "same-origin"}
        if https:
            self.common["Strict-Transport-Security"] = "max-age=31536000"
        more = f" {images}" if images else ""
        self.policy = POLICY.format(styles="", local=local, images=more)
        self.docs_policy = POLICY.format(styles=" 'unsafe-inline'", local=local, images=more)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.docs_policy if scope["path"] == "/docs" else self.policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (*self.common.items(), ("Content-Security-Policy", policy)):
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
