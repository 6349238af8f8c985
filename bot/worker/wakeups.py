"""When the dispatch loop runs: a timer that cannot drop a wake-up, and on PostgreSQL a listener that wakes
it the moment `queue`, `close` or the planner commit due rows (bot/outbox/staff.py sends the NOTIFY in the
inserting transaction).

APScheduler's date jobs shared one id, so a wake-up set a few ms ahead while the previous one ran was
dropped (max_instances), and one whose time passed during a tick was never set. Here a wake-up is a
deadline: asking for an earlier one moves it forward, a later one never replaces it, and it is consumed only
once its time has come."""

from __future__ import annotations

import logging
import selectors
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)
CHANNEL = "campaign_bot_due"
REFRESH_SECONDS = 300.0  # the listening connection is replaced this often (see DueListener)


class Waker:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._poked = False

    def wake_in(self, seconds: float) -> None:
        """Run no later than ``seconds`` from now (an earlier wake-up already asked for stands)."""
        with self._cond:
            deadline = self._monotonic() + max(0.0, seconds)
            if self._deadline is None or deadline < self._deadline:
                self._deadline = deadline
                self._cond.notify_all()

    def wake_now(self) -> None:
        """Run at once, and read the database afresh (something changed: see take_poke)."""
        with self._cond:
            self._poked = True
        self.wake_in(0.0)

    def take_poke(self) -> bool:
        """Whether wake_now was asked for since the last call (the loop's own wake-ups are wake_in)."""
        with self._cond:
            poked, self._poked = self._poked, False
            return poked

    def wait(self, longest: float, stopping: threading.Event) -> bool:
        """Until the earliest wake-up asked for, ``longest`` seconds at most (the safety tick), or a stop.
        Returns whether a wake-up came due (and consumes it)."""
        with self._cond:
            limit = self._monotonic() + longest
            while not stopping.is_set():
                target = limit if self._deadline is None else min(limit, self._deadline)
                left = target - self._monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if self._deadline is not None and self._deadline <= self._monotonic():
                self._deadline = None
                return True
            return False

    @property
    def pending(self) -> float | None:
        """Seconds until the next wake-up asked for (None: none)."""
        with self._cond:
            return None if self._deadline is None else self._deadline - self._monotonic()


class DueListener:
    """LISTEN on a connection of its own; every notification wakes the loop. After a lost connection it
    listens again and wakes the loop once (what was committed meanwhile was not heard). It takes a fresh
    connection every ``refresh_seconds`` as well: a half-open one (the server gone without a word) would
    otherwise stay deaf for good."""

    def __init__(self, engine: Engine, on_due: Callable[[], None], stopping: threading.Event, *,
                 refresh_seconds: float = REFRESH_SECONDS, first_delay: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.on_due = on_due
        self.stopping = stopping
        self.refresh_seconds = refresh_seconds
        self.first_delay = first_delay
        self._monotonic = monotonic
        self.thread = threading.Thread(target=self._listen_forever, name="listen", daemon=True)
        self._raw: Any = None
        self._listened = False

    def start(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self.thread.start()

    def _listen_forever(self) -> None:
        delay = self.first_delay
        while not self.stopping.is_set():
            self._listened = False
            try:
                self._listen()  # returns when it is time for a fresh connection
                delay = self.first_delay
                continue
            except Exception as exc:  # SQLAlchemy's or the driver's own (psycopg.Error): listen again later
                if self._listened:  # it had been listening: this is a new failure, not a run of them
                    delay = self.first_delay
                log.warning("listening for due posts failed (%s); again in %.2fs (the safety tick still runs)",
                            exc, delay)
            finally:
                self._drop()
            self.stopping.wait(delay)
            delay = min(delay * 2, 30.0)

    def _listen(self) -> None:
        self._raw = self.engine.raw_connection()
        pg = self._raw.driver_connection
        pg.autocommit = True
        pg.execute(f"LISTEN {CHANNEL}")
        self._listened = True
        self.on_due()
        began = self._monotonic()
        # psycopg's own wait for notifications (notifies(timeout=...)) wakes every 0.1 s, its wait interval:
        # about 0.8 ms of CPU a second with nothing to hear. Here the socket is waited on (a second at most, to
        # see a stop), then what came is read without waiting (a closed connection raises there).
        with selectors.DefaultSelector() as socket:
            socket.register(pg.fileno(), selectors.EVENT_READ)
            while not self.stopping.is_set() and self._monotonic() - began < self.refresh_seconds:
                socket.select(min(1.0, self.refresh_seconds))
                for _ in pg.notifies(timeout=0):
                    self.on_due()

    def _drop(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            try:
                raw.invalidate()  # its LISTEN must not go back to the pool
            except Exception:  # already dead
                log.debug("closing the listening connection failed", exc_info=True)
