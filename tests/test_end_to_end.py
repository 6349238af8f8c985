"""`campaign-bot run` as a process, with its accounts on a running mastodon-mock server."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.test_daemon import Daemon, cli
from tests.waiting import wait_for

HANG = 180  # a deadline for a hang: at load 30 this test took 105 s

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.subprocess



def statuses(base_url: str) -> list[dict]:
    headers = {"Authorization": "Bearer alice_token"}
    me = httpx.get(f"{base_url}/api/v1/accounts/verify_credentials", headers=headers, timeout=30).json()
    return httpx.get(f"{base_url}/api/v1/accounts/{me['id']}/statuses", params={"limit": 40}, headers=headers,
                     timeout=30).json()




def test_the_example_campaign_runs_on_mastodon_and_closing_replies_to_the_last_call_to_action(tmp_path,
                                                                                              mastodon_server):
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    campaign = tmp_path / "campaigns" / "peru-children-humanitarian-status.toml"
    soon = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = campaign.read_text(encoding="utf-8")
    text = text.replace('accounts = ["org_x", "org_mastodon", "org_bluesky", "org_threads", "org_telegram", '
                        '"org_facebook"]', 'accounts = ["org_mastodon"]')
    assert 'accounts = ["org_mastodon"]' in text
    text = text.replace('cron = "0 9,12,16 * * 1-5"\njitter_minutes = 10', f"at = [{soon}]")
    text = re.sub(r'quiet_hours = \{[^}]*\}\n', "", text)
    campaign.write_text(text, encoding="utf-8")
    (tmp_path / "config.toml").write_text(
        '[bot]\npoll_seconds = 1\n'
        f'[accounts.org_mastodon]\nnetwork = "mastodon"\napi_base_url = "{mastodon_server.base_url}"\n'
        'access_token_env = "ORG_MASTODON_TOKEN"\n', encoding="utf-8")
    os.environ["ORG_MASTODON_TOKEN"] = "alice_token"
    try:
        check = cli(tmp_path, "accounts", "check")
        assert check.returncode == 0 and "org_mastodon (mastodon): @alice" in check.stdout, check.stdout + check.stderr
        assert cli(tmp_path, "validate").returncode == 0
        queued = cli(tmp_path, "queue", "peru-children-humanitarian-status", "--at", "now", "--language", "en",
                     "--text", "Extra: {{ ask }} {{ hashtags }}")
        assert queued.returncode == 0, queued.stderr

        daemon = Daemon(tmp_path)
        try:
            posted = wait_for(lambda: len(statuses(mastodon_server.base_url)) >= 3 and
                              statuses(mastodon_server.base_url), timeout=HANG)
            assert posted, daemon.text()
            by_lang = {s["language"] for s in posted}
            assert by_lang == {"es", "en"}
            extra = [s for s in posted if "Extra: Grant humanitarian immigration status" in s["content"]]
            assert len(extra) == 1 and extra[0]["language"] == "en"

            closed = cli(tmp_path, "close", "peru-children-humanitarian-status", "--outcome", "success")
            assert closed.returncode == 0, closed.stderr
            # Two closing messages (es, en), which may go out in separate ticks: wait for both, then none more.
            assert wait_for(lambda: len([s for s in statuses(mastodon_server.base_url) if s["in_reply_to_id"]]) >= 2,
                            timeout=HANG), daemon.text()
        finally:
            assert daemon.stop() == 0
        replies = [s for s in statuses(mastodon_server.base_url) if s["in_reply_to_id"]]
        assert len(replies) == 2, daemon.text()

        history = json.loads(cli(tmp_path, "history", "--json").stdout)
        # The closing message replies under the last post that went out in its language, whichever its kind
        # (Mastodon's ids grow with time: the highest is the last one published).
        published = sorted((h for h in history if h["kind"] != "closing" and h["status"] == "sent"),
                           key=lambda h: int(h["remote_id"]))
        last = {h["language"]: h for h in published}
        assert {h["kind"] for h in published if h["language"] == "en"} == {"queued", "call_to_action"}
        closings = [h for h in history if h["kind"] == "closing"]
        assert {h["status"] for h in closings} == {"sent"}
        for closing in closings:
            assert closing["in_reply_to"] == last[closing["language"]]["remote_id"]
        thanks = [s for s in statuses(mastodon_server.base_url) if s["in_reply_to_id"] and s["language"] == "en"]
        assert "No further action is requested. Many thanks to all who sent appeals." in thanks[0]["content"]
    finally:
        os.environ.pop("ORG_MASTODON_TOKEN", None)
        _ = sys
