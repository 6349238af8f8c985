"""`run --web` as a service manager or `nohup ... &` starts it: SIGINT ignored by the shell that started it.
SIGINT still stops it and both children; killing it with SIGKILL stops the children and frees the port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.waiting import wait_for

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.subprocess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_in_the_background() -> None:
    """What a non-interactive shell does for `cmd &` (and nohup for SIGHUP): the child starts with SIGINT
    ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[-1].startswith("Z"))  # a zombie has ended


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/login", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def background_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, list[int]]]:
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    port = free_port()
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--web", "--port", str(port)], cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_as_in_the_background)
    kids: list[int] = []
    try:
        assert wait_for(lambda: _up(f"http://127.0.0.1:{port}"), timeout=120), (tmp_path / "run.log").read_text()
        kids = wait_for(lambda: len(children_of(proc.pid)) == 2 and children_of(proc.pid), timeout=30)
        assert kids and len(kids) == 2
        yield proc, port, kids
    finally:
        for pid in [proc.pid, *kids]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)
        log.close()


def test_sigint_stops_run_web_and_both_children_though_started_in_the_background(
        background_run: tuple[subprocess.Popen[bytes], int, list[int]]) -> None:
    proc, port, kids = background_run
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=90) == 0
    assert wait_for(lambda: not any(alive(k) for k in kids), timeout=30)
    assert wait_for(lambda: port_free(port), timeout=30)


def test_sigterm_stops_it_the_same_way(background_run: tuple[subprocess.Popen[bytes], int, list[int]]) -> None:
    proc, port, kids = background_run
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0
    assert wait_for(lambda: not any(alive(k) for k in kids), timeout=30)


def test_the_children_run_in_a_process_group_of_their_own_and_stop_and_free_the_port_when_run_web_is_killed(
        background_run: tuple[subprocess.Popen[bytes], int, list[int]]) -> None:
    """One start of `run --web` for both (each start costs seconds)."""
    proc, port, kids = background_run
    groups = {os.getpgid(k) for k in kids}
    assert len(groups) == 1 and os.getpgid(proc.pid) not in groups
    proc.kill()  # SIGKILL: no handler runs in the parent
    proc.wait(timeout=30)
    assert wait_for(lambda: not any(alive(k) for k in kids), timeout=90)
    assert wait_for(lambda: port_free(port), timeout=30)
