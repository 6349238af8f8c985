"""The quick start as a newcomer runs it: `campaign-bot run --web` on a fresh folder, then a browser-like
client signs in with the first-run link, closes the case, and the worker posts the closing messages."""

from __future__ import annotations

import json
import re
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
CAMPAIGN = "peru-children-humanitarian-status"
pytestmark = pytest.mark.subprocess




def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def quick_start(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, str]]:
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    port = free_port()
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--web", "--port", str(port)], cwd=tmp_path,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc, log, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_the_quick_start_shows_the_dashboard_and_a_close_from_the_browser_is_posted(
        quick_start: tuple[subprocess.Popen[str], Path, str]) -> None:
    proc, log, base = quick_start
    link = wait_for(lambda: re.search(r"(http://\S+/login/once\?token=\S+)", log.read_text()))
    assert link, log.read_text()
    client = httpx.Client(base_url=base, timeout=10)
    assert wait_for(lambda: _up(client, "/login"))
    response = client.get(link.group(1).removeprefix(base), follow_redirects=True)
    assert "Choose your password" in response.text
    token = link.group(1).split("token=")[1]
    client.post("/login/once", data={"csrf": _csrf(response.text), "token": token, "password": "a strong password",
                                     "again": "a strong password"})
    dashboard = client.get("/")
    assert "Perú: Calidad Migratoria Humanitaria" in dashboard.text, dashboard.text  # its first language's title
    assert wait_for(lambda: client.get("/healthz").status_code == 200), client.get("/healthz").text

    confirm = client.get(f"/campaigns/{CAMPAIGN}/close", params={"outcome": "success"})
    assert confirm.status_code == 200 and "Close the case and post these messages" in confirm.text
    closed = client.post(f"/campaigns/{CAMPAIGN}/close", data={"csrf": _csrf(confirm.text), "outcome": "success"},
                         follow_redirects=True)
    assert "closed " + CAMPAIGN in closed.text

    def closing_sent() -> bool:
        history = subprocess.run([sys.executable, "-m", "bot", "history", CAMPAIGN, "--json"], cwd=log.parent,
                                 capture_output=True, text=True, timeout=60, check=False)
        rows = json.loads(history.stdout or "[]")
        closing = [r for r in rows if r["kind"] == "closing"]
        return bool(closing) and all(r["status"] == "sent" for r in closing)

    assert wait_for(closing_sent, timeout=90), log.read_text()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0, log.read_text()


def _up(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.TransportError:
        return False
