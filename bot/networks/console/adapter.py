"""The console network: prints a readable post instead of posting. The embedded default and --dry-run.

In console mode it stands in for the network the account would post to (``stands_in``): lengths, limits and
text rules are that network's, so a preview fails where the real post would.
"""

from __future__ import annotations

import sys
import threading
from typing import ClassVar, TextIO

from bot.networks.base import AccountStore, Network, Post, Published
from bot.networks.registry import network_class
from bot.networks.secrets import Secrets
from bot.networks.settings import AccountSettings

_print_lock = threading.Lock()


class ConsoleNetwork(Network):
    kind: ClassVar[str] = "console"
    idempotent: ClassVar[bool] = True  # printing twice is harmless, and the id is derived from the delivery
    max_length: ClassVar[int] = 500

    stream: TextIO | None = None

    def __init__(self, account_id: str, settings: AccountSettings, store: AccountStore | None = None,
                 secrets: Secrets | None = None, *, stands_in: str = "console") -> None:
        super().__init__(account_id, settings, store, secrets)
        self.stands_in = stands_in
        self._rules: type[Network] = network_class(stands_in) if stands_in != self.kind else type(self)

    def limit(self) -> int:
        return self._rules.max_length

    def length(self, text: str) -> int:
        return self._rules.measure(text)

    @property
    def measured_as(self) -> str | None:
        return self._rules.kind

    def publish(self, post: Post) -> Published:
        from rich.console import Console  # loaded at the first post, not at every start of the daemon
        from rich.panel import Panel
        from rich.text import Text

        remote_id = f"console-{post.delivery_id}"
        title = f"{self.account_id} · {post.language}"
        if self.stands_in != self.kind:
            title += f" · as {self.stands_in} ({self.length(post.text)}/{self.limit()})"
        if post.in_reply_to:
            title += f" · reply to {post.in_reply_to.remote_id}"
        body = Text(post.text)
        for media in post.media:
            body.append(f"\n[image {media.path.name}: {media.alt}]", style="dim")
        console = Console(file=self.stream or sys.stdout, width=100, highlight=False, soft_wrap=False)
        with _print_lock:
            console.print(Panel(body, title=title, subtitle=remote_id, expand=False))
            (self.stream or sys.stdout).flush()
        return Published(remote_id=remote_id, url=f"console://{self.account_id}/{post.delivery_id}")
