"""The console network: prints a readable post instead of posting. The embedded default and --dry-run."""

from __future__ import annotations

import sys
import threading
from typing import ClassVar, TextIO

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.networks.base import Network, Post, Published

_print_lock = threading.Lock()


class ConsoleNetwork(Network):
    kind: ClassVar[str] = "console"
    idempotent: ClassVar[bool] = True  # printing twice is harmless, and the id is derived from the delivery
    max_length: ClassVar[int] = 500

    stream: TextIO | None = None

    def publish(self, post: Post) -> Published:
        remote_id = f"console-{post.delivery_id}"
        title = f"{self.account_id} · {post.language}"
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
