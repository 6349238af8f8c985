"""`run --web`'s two children (the worker and the web app), kept on a short leash.

- SIGINT and SIGTERM stop it alike, even when it was started in the background: a shell's `&` and `nohup`
  start a program with SIGINT ignored, and Python then never raises KeyboardInterrupt.
- The children share a process group of their own: a terminal's Ctrl-C reaches only the parent, which stops
  them in order (SIGTERM to the group: the worker finishes its sends in flight, uvicorn its requests).
- They stop when the parent dies, however it dies (kill -9 included): on Linux the kernel tells them
  (PR_SET_PDEATHSIG); everywhere, each child also watches its parent's pid (CAMPAIGN_BOT_PARENT_PID) and stops
  when it changes.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess  # runs this program itself, never a command from input  # nosec B404
import sys
import threading
from collections.abc import Callable, Sequence

PARENT_ENV = "CAMPAIGN_BOT_PARENT_PID"
PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 1.0
STOP_SECONDS = 60


def _die_with_parent(parent: int) -> Callable[[], None]:
    """Runs in the child between fork and exec: SIGTERM when the parent dies (Linux), and if it already died
    (before the request was made), stop at once."""

    def prepare() -> None:
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            except (OSError, AttributeError):  # no prctl: the pid watch below still stops the child
                pass
        if os.getppid() != parent:
            os._exit(1)

    return prepare


def watch_parent() -> None:
    """In a child of `run --web`: stop (SIGTERM to oneself, handled as every stop is) when the parent is gone.
    Does nothing in a process that was not started by `run --web`."""
    expected = os.environ.get(PARENT_ENV, "")
    if not expected.isdigit():
        return
    parent = int(expected)

    def watch() -> None:
        while not stopped.wait(WATCH_SECONDS):
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    stopped = threading.Event()
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class _Stop(Exception):
    pass


def supervise(commands: Sequence[list[str]], started: Callable[[], None]) -> int:
    """Start ``commands`` as children in one process group of their own; wait until one ends or this process
    is told to stop (SIGINT or SIGTERM); stop the others; return the exit status."""

    def stop(_signum: int, _frame: object) -> None:
        raise _Stop

    # Installed before the children start: a handler (unlike SIG_IGN) is reset to the default when they exec,
    # so they hear SIGINT even when this process was started with it ignored.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    children: list[subprocess.Popen[bytes]] = []
    group = 0
    status = 0
    try:
        for command in commands:
            child = subprocess.Popen(command, env=env, process_group=group,  # nosec B603 - no shell
                                     preexec_fn=_die_with_parent(os.getpid()))  # noqa: PLW1509
            group = group or child.pid
            children.append(child)
        started()
        done = threading.Event()
        while not any(c.poll() is not None for c in children):
            done.wait(0.5)
        status = next(c.returncode for c in children if c.returncode is not None)
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopping: a second Ctrl-C does not cut it short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return status
