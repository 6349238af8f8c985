"""One step of alerting, and the thread that repeats it in the worker and in the web process.

``tick`` detects, records each new alert once, and sends what is due; tests call it directly with a fake
clock. ``start`` runs it every ``interval_seconds`` on a thread of its own, so a slow alert service never
holds a post; it does nothing when no `[[alerts]]` destination is configured.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.alerts import queue
from bot.alerts.detect import detect
from bot.alerts.transport import AppriseTransport, Transport, TransportError
from bot.config import Config
from bot.config.alerts import Destination
from bot.store.deps import Database


class Alerting(Database, Protocol):
    @property
    def config(self) -> Config: ...


log = logging.getLogger(__name__)
PER_STEP = 50
"""Sends per destination in one step; the rest wait for the next (a burst never holds the thread for long)."""

TITLES = {
    "delivery_failed": "a post failed",
    "delivery_unknown": "a post needs checking",
    "account_disabled": "an account was disabled",
    "account_misconfigured": "an account is misconfigured",
    "worker_down": "the worker is down",
    "target_responded": "the target answered",
    "deadline_near": "a deadline is near",
    "deadline_passed": "a deadline passed",
    "emergency_stop": "emergency stop",
    "campaign_closed": "a campaign was closed",
}


@dataclass
class TickResult:
    new_alerts: int = 0
    sent: int = 0
    failed: list[str] = field(default_factory=list)


def body(send: queue.Claimed) -> str:
    lines = [send.message]
    if send.campaign_id:
        lines.append(f"Campaign: {send.campaign_id}")
    if send.account_id:
        lines.append(f"Account: {send.account_id}")
    if send.link:
        lines.append(f"Settle it here: {send.link}")
    lines.append(f"Event: {send.event}")
    return "\n".join(lines)


def tick(app: Alerting, transport: Transport | None = None) -> TickResult:
    destinations = {d.key: d for d in app.config.alerts}
    result = TickResult()
    if not destinations:
        return result
    settings = app.config.alerts_settings
    now = app.clock.now()
    with app.engine.begin() as conn:
        result.new_alerts = queue.enqueue(conn, detect(conn, now, settings), list(destinations.values()), now)
    transport = transport or AppriseTransport()
    for key, destination in destinations.items():
        # One send at a time per destination, and none more this step once one failed: a service that is down
        # costs one timeout per step, not one per alert waiting for it, and does not hold the others back.
        for _ in range(PER_STEP):
            with app.engine.begin() as conn:
                claimed = queue.claim(conn, [key], app.clock.now(), limit=1)
            if not claimed:
                break
            if not _send(app, transport, destination, claimed[0], result):
                break
    return result


def _send(app: Alerting, transport: Transport, destination: Destination, send: queue.Claimed,
          result: TickResult) -> bool:
    error, permanent = None, False
    try:
        transport.notify(destination, f"campaign-bot: {TITLES.get(send.event, send.event)}", body(send))
        result.sent += 1
    except TransportError as exc:
        error, permanent = exc.message, exc.permanent
        result.failed.append(send.destination)
        log.warning("alert %s to %s not sent (attempt %d): %s", send.event, send.destination, send.attempts,
                    exc.message)
    with app.engine.begin() as conn:
        queue.settle(conn, send, app.clock.now(), error, permanent)
    return error is None


def send_test(destination: Destination, transport: Transport | None = None) -> str | None:
    """`campaign-bot alerts test`: one message straight to a destination (not through the queue). None: it went."""
    try:
        (transport or AppriseTransport()).notify(
            destination, "campaign-bot: test alert",
            "This is a test from `campaign-bot alerts test`: alerts configured for this destination arrive here.")
    except TransportError as exc:
        return exc.message
    return None


def start(app: Alerting, stopping: threading.Event) -> threading.Thread | None:
    """Run ``tick`` every interval on a daemon thread until ``stopping`` is set (the worker's own stop event, or
    the web app's). None when no destination is configured."""
    if not app.config.alerts:
        return None
    interval = app.config.alerts_settings.interval_seconds
    if warning := app.config.alerts_settings.missing_address:
        log.warning("alerts: %s", warning)

    def loop() -> None:
        while not stopping.is_set():
            try:
                tick(app)
            except OperationalError as exc:
                log.warning("alerts: database unavailable (%s); trying again in %.0f s", exc.orig, interval)
            except SQLAlchemyError:
                log.exception("alerts: step failed; trying again in %.0f s", interval)
            stopping.wait(interval)

    thread = threading.Thread(target=loop, name="alerts", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def running(app: Alerting) -> Iterator[None]:
    """For the web process: alerting runs while the app serves (started and stopped with it)."""
    stopping = threading.Event()
    thread = start(app, stopping)
    try:
        yield
    finally:
        stopping.set()
        if thread is not None:
            thread.join(timeout=30)  # a send in flight ends within the transport's timeouts
