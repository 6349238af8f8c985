"""The connection each sender thread works on, kept between its runs on PostgreSQL (bot/worker/dispatch.py).

A run took a connection from the pool (with its pre-ping: a round trip) and gave it back at its end; in
steady state, with one post per run, that was a round trip per post. Each sender thread now keeps its own,
dropped after any error or reconnection (a fresh one from the pool next time). On SQLite a run takes one
from the pool, as before (one worker, a local file: nothing to save)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.outbox.link import Link


class SenderLinks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._keep = engine.dialect.name == "postgresql"
        self._local = threading.local()
        self._links: list[Link] = []
        self._lock = threading.Lock()

    @contextmanager
    def work(self) -> Iterator[Link]:
        """This thread's connection for the length of a run."""
        if not self._keep:
            with Link(self.engine, auto=True) as own:
                yield own
            return
        link: Link | None = getattr(self._local, "link", None)
        if link is None:
            link = self._local.link = Link(self.engine, auto=True)
            with self._lock:
                self._links.append(link)
        healthy = False
        try:
            yield link
            healthy = not link.reconnected
        finally:
            if not healthy:
                self._local.link = None
                self._drop(link)

    def _drop(self, link: Link) -> None:
        with self._lock:
            if link in self._links:
                self._links.remove(link)
        with contextlib.suppress(SQLAlchemyError):
            link.close()

    def close(self) -> None:
        """Close every thread's kept connection (the dispatcher's end)."""
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            with contextlib.suppress(SQLAlchemyError):
                link.close()
        self._local = threading.local()
