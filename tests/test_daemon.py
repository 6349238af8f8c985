"""The daemon as a user runs it: a real `campaign-bot run` process on the embedded default."""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.subprocess


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=False)


class Daemon:
    def __init__(self, cwd: Path, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run", *args], cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    return False
                continue
            self.output.append(line)
            # Console panels wrap long posts: compare with the borders and line breaks folded away.
            if text in re.sub(r"[\s│]+", " ", "".join(self.output[-40:])):
                return True
        return False

    def text(self) -> str:
        """Everything the daemon printed so far (for assertion messages)."""
        while not self.lines.empty():
            self.output.append(self.lines.get_nowait())
        return "".join(self.output)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    return tmp_path


def test_run_posts_a_queued_post_on_the_console_and_records_it_as_sent(workdir):
    when = (datetime.now(UTC) + timedelta(seconds=4)).isoformat(timespec="seconds")
    queued = cli(workdir, "queue", "peru-children-humanitarian-status", "--at", when, "--language", "en",
                 "--account", "org_mastodon", "--text", "Queued from the test: {{ ask }}")
    assert queued.returncode == 0, queued.stderr
    daemon = Daemon(workdir)
    try:
        assert daemon.wait_for("CONSOLE MODE"), "".join(daemon.output)
        assert daemon.wait_for("Queued from the test: Grant humanitarian immigration status", timeout=40), \
            "".join(daemon.output)
        # One INFO line per post sent.
        assert daemon.wait_for("sent: queued of peru-children-humanitarian-status, from org_mastodon: console://"), \
            "".join(daemon.output)
    finally:
        code = daemon.stop()
    assert code == 0, "".join(daemon.output)
    output = "".join(daemon.output)
    assert "apscheduler" not in output and "maximum number of running instances" not in output, output  # no chatter
    history = json.loads(cli(workdir, "history", "--json").stdout)
    [post] = [h for h in history if h["kind"] == "queued"]
    assert post["status"] == "sent" and post["account"] == "org_mastodon" and post["remote_id"]
    assert post["text"].startswith("Queued from the test")


def test_close_while_the_daemon_runs_posts_the_closing_replies_within_seconds(workdir):
    now = datetime.now(UTC).isoformat(timespec="seconds")
    assert cli(workdir, "queue", "peru-children-humanitarian-status", "--at", now, "--language", "en",
               "--text", "Act now: {{ link }}").returncode == 0
    daemon = Daemon(workdir)
    try:
        assert daemon.wait_for("Act now:"), "".join(daemon.output)
        closed = cli(workdir, "close", "peru-children-humanitarian-status", "--outcome", "success", "--by", "test")
        assert closed.returncode == 0 and "closed peru-children-humanitarian-status (success)" in closed.stdout
        assert daemon.wait_for("Many thanks to all who sent appeals", timeout=40), "".join(daemon.output)
    finally:
        assert daemon.stop() == 0
    history = json.loads(cli(workdir, "history", "--json").stdout)
    closing = [h for h in history if h["kind"] == "closing"]
    assert closing and all(h["status"] in ("sent", "planned", "sending") for h in closing)
    status = json.loads(cli(workdir, "status", "--json").stdout)
    [campaign] = status["campaigns"]
    assert campaign["state"] == "closed" and campaign["outcome"] == "success"


def test_a_second_worker_on_the_same_sqlite_database_is_refused(workdir):
    first = Daemon(workdir)
    try:
        assert first.wait_for("running as"), "".join(first.output)
        second = cli(workdir, "run")
        assert second.returncode == 1
        assert "SQLite supports one worker" in second.stderr and "Traceback" not in second.stderr
    finally:
        assert first.stop() == 0
