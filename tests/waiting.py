"""Waiting for an event in a subprocess or a server, with a bounded timeout (never for time to pass)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout: float = 60, poll: float = 0.3) -> Any:
    """The predicate's first truthy value, or its last value when the deadline passes (a hang, not a wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    return predicate()
