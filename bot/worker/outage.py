"""Logging a database outage without flooding: the cause once, a reminder at most every minute, and one line
when it ends - however many jobs and accounts run into it meanwhile."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

REMINDER_SECONDS = 60.0


class OutageLog:
    def __init__(self, log: logging.Logger, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._since: float | None = None
        self._last_said = 0.0
        self._failures = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, where: str, cause: object) -> None:
        now = self._monotonic()
        with self._lock:
            self._failures += 1
            if self._since is None:
                self._since, self._last_said, self._failures = now, now, 1
                self.log.error("database unavailable (%s): %s; retrying, posts wait", where, cause)
            elif now - self._last_said >= REMINDER_SECONDS:
                self._last_said = now
                self.log.error("database still unavailable after %.0fs (%d failed attempts): %s",
                               now - self._since, self._failures, cause)

    def ok(self) -> None:
        if self._since is None:  # the usual case: no lock taken
            return
        now = self._monotonic()
        with self._lock:
            if self._since is None:
                return
            self.log.warning("database available again after %.0fs; catching up", now - self._since)
            self._since = None
