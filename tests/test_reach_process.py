"""Reach as a user runs it: the worker records the target's reply from mastodon-mock within a minute, and
`campaign-bot report --refresh` shows the counts read from it."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import write_campaign
from tests.test_daemon import Daemon, cli
from tests.test_reach import LATER, TARGETS
from tests.waiting import wait_for

pytestmark = pytest.mark.subprocess


def org_statuses(base_url: str) -> list[dict[str, Any]]:
    headers = {"Authorization": "Bearer alice_token"}
    me = httpx.get(f"{base_url}/api/v1/accounts/verify_credentials", headers=headers, timeout=30).json()
    answer: list[dict[str, Any]] = httpx.get(f"{base_url}/api/v1/accounts/{me['id']}/statuses", headers=headers,
                                             timeout=30).json()
    return answer


def responses(database: Path) -> list[tuple[str, str]]:
    """The target's answers the worker recorded (read straight from its SQLite file: no process per poll)."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        try:
            return list(conn.execute("SELECT author, text FROM target_responses"))
        except sqlite3.OperationalError:  # the worker has not created the table yet
            return []


def report(cwd: Path, *args: str) -> list[dict[str, Any]]:
    done = cli(cwd, "report", "--json", *args)
    assert done.returncode == 0, done.stderr
    data: list[dict[str, Any]] = json.loads(done.stdout)
    return data


def test_the_worker_records_the_targets_reply_within_a_minute_and_report_shows_real_counts(tmp_path, monkeypatch):
    from mastodon_mock.testing.server import MockServer

    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "targets.toml").write_text(TARGETS, encoding="utf-8")
    write_campaign(campaigns, accounts='accounts = ["org"]', languages='languages = ["en"]', ask='ask = "Act now"',
                   schedule=LATER)
    monkeypatch.setenv("ORG_TOKEN", "alice_token")
    with MockServer() as server:
        (tmp_path / "config.toml").write_text(
            '[bot]\npoll_seconds = 1\n'
            f'[accounts.org]\nnetwork = "mastodon"\napi_base_url = "{server.base_url}"\n'
            'access_token_env = "ORG_TOKEN"\n', encoding="utf-8")
        assert cli(tmp_path, "validate").returncode == 0
        queued = cli(tmp_path, "queue", "test", "--at", "now", "--language", "en", "--text", "Free them {{ link }}")
        assert queued.returncode == 0, queued.stderr
        daemon = Daemon(tmp_path)
        try:
            posted = wait_for(lambda: org_statuses(server.base_url), timeout=120)
            assert posted, daemon.text()
            bob = server.client("bob")
            bob.status_favourite(posted[0]["id"])
            bob.status_reblog(posted[0]["id"])
            bob.status_reply(bob.status(posted[0]["id"]), "We are reviewing the case.")
            answered = wait_for(lambda: responses(tmp_path / "campaign-bot.db"), timeout=75, poll=1)
            assert answered, daemon.text()
            assert answered[0][0] == "@bob@mock.local" and "reviewing the case" in answered[0][1]
        finally:
            assert daemon.stop() == 0
        [r] = report(tmp_path, "test", "--refresh")
        assert (r["totals"]["likes"], r["totals"]["boosts"], r["totals"]["replies"]) == (1, 1, 1)
        assert r["totals"]["target_responses"] == 1
