"""`run --dry-run` as a user runs it: a real process, next to a real database it must not touch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import TARGETS, write_campaign
from tests.test_daemon import Daemon, cli

pytestmark = pytest.mark.subprocess


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "targets.toml").write_text(TARGETS, encoding="utf-8")
    # A slot due a minute ago (inside the grace window), so the dry run has something to post at once.
    due = (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0, tzinfo=None)
    write_campaign(campaigns, schedule=f'[[schedule]]\nid = "now"\nat = [{due.isoformat()}]',
                   timezone='timezone = "UTC"')
    return tmp_path


def test_a_dry_run_never_changes_a_real_delivery(workdir):
    queued = cli(workdir, "queue", "test", "--at", "now", "--language", "en", "--account", "a1",
                 "--text", "Real queued post")
    assert queued.returncode == 0, queued.stderr
    real_db = workdir / "campaign-bot.db"
    before = json.loads(cli(workdir, "history", "--json").stdout)
    files = {p.name for p in workdir.iterdir()}  # the database, its planner's lock file, the campaigns
    daemon = Daemon(workdir, "--dry-run")
    try:
        assert daemon.wait_for("DRY RUN"), daemon.text()
        assert daemon.wait_for("throwaway database"), daemon.text()
        assert daemon.wait_for("CTA one @CancilleriaPeru Act now", timeout=40), daemon.text()
    finally:
        code = daemon.stop()
    assert code == 0, daemon.text()
    assert "Real queued post" not in daemon.text()
    after = json.loads(cli(workdir, "history", "--json").stdout)
    assert after == before and [d["status"] for d in after] == ["planned"]
    assert {p.name for p in workdir.iterdir()} <= files | {f"{real_db.name}-wal", f"{real_db.name}-shm"}
