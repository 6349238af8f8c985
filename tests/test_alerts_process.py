"""Issue 12's "done when", with real processes: a reply from the target reaches a local webhook from a running
`campaign-bot run` within a minute, and when that worker is killed the running web app raises worker_down."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.alert_servers import free_port, webhook
from tests.waiting import wait_for

pytestmark = pytest.mark.subprocess


def start(tmp_path: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    with (tmp_path / f"{name}.log").open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=tmp_path, stdout=out,
                                stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        stop(proc)


def test_a_target_reply_is_alerted_by_the_worker_and_a_killed_worker_by_the_web_app(tmp_path, processes):
    (tmp_path / "campaigns").mkdir()
    database = tmp_path / "bot.db"
    with webhook() as hook:
        config = tmp_path / "config.toml"
        config.write_text(f'[bot]\ndatabase_url = "sqlite:///{database}"\ncampaigns_dir = "{tmp_path}/campaigns"\n'
                          f'[[alerts]]\nurl = "{hook.url}"\n'
                          '[alerts_settings]\ninterval_seconds = 0.5\nworker_down_after = "6s"\n', encoding="utf-8")
        worker = start(tmp_path, "worker", "run", "--config", str(config))
        processes.append(worker)
        engine = create_engine(f"sqlite:///{database}")
        try:
            assert wait_for(lambda: inspect(engine).has_table("alert_sends") and _beating(engine), timeout=60), \
                (tmp_path / "worker.log").read_text()
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO target_responses (campaign_id, network, account_id, author, kind, text, "
                                  "url, remote_id, received_at) VALUES ('ua-1', 'mastodon', 'org', '@ministerio', "
                                  "'reply', 'Recibido.', 'https://gob.example/@ministerio/1', '1', :at)"),
                             {"at": datetime.now(UTC).replace(tzinfo=None)})
            assert wait_for(lambda: "target_responded" in hook.events(), timeout=60), \
                (tmp_path / "worker.log").read_text()
            web = start(tmp_path, "web", "web", "--config", str(config), "--port", str(free_port()))
            processes.append(web)
            worker.kill()  # SIGKILL: no clean stop, its heartbeat row stays and goes stale
            worker.wait()
            assert wait_for(lambda: "worker_down" in hook.events(), timeout=60), (tmp_path / "web.log").read_text()
        finally:
            engine.dispose()
        assert sorted(hook.events()) == ["target_responded", "worker_down"]


def _beating(engine) -> bool:
    with engine.connect() as conn:
        return bool(inspect(conn).has_table("workers") and conn.scalar(text("SELECT count(*) FROM workers")))
