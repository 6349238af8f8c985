"""Python's cyclic garbage collector paused while a plan builds and inserts its rows.

A first plan keeps about 85,000 row tuples (and the files' parsed models) alive until they are inserted, and
each of those allocations counts towards the collector's thresholds: at 1,000 campaigns it ran about 500 young
and 4 full collections, each full one walking every object of the process, for about 0.4 s of a 2-3 s plan; nothing
the plan allocates is garbage the collector could free before the plan ends (reference counting frees what
the plan drops). The setting is process-wide: while it is paused no thread's cyclic garbage is collected (it is
collected after, at the next collection the thresholds call for; no object is kept for good). Pauses nest and
may overlap across threads: the collector runs again when the last one ends, and only if it was running when
the first began (a collector someone else disabled stays disabled)."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_resume = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
