"""A worker that starts again reaches its first tick cheaply: the database's revision read without Alembic, the
campaign files not read when nothing they depend on changed (bot/planning/scan.py), and `campaign-bot run` not
loading the web app, Alembic or the network client libraries (a subprocess looks at what it imported)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.planning.scan import FRESH
from bot.store.db import _alembic_config, current_revision, head_revision, make_engine, upgrade
from bot.worker.plan import plan
from tests.conftest import deliveries, write_campaign

REPO = Path(__file__).resolve().parent.parent
NOT_ON_THE_WAY = ("alembic", "mako", "fastapi", "starlette", "uvicorn", "babel", "rich", "httpx", "httpcore",
                  "cryptography", "argon2", "mastodon", "tweepy", "atproto", "telegram", "requests")


def test_the_head_read_from_the_migration_files_is_alembics():
    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_the_revision_read_in_one_statement_is_alembics(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert current_revision(engine) is None  # never migrated: no table yet
    upgrade(engine)
    with engine.connect() as conn:
        assert current_revision(engine) == MigrationContext.configure(conn).get_current_revision() == head_revision()
    engine.dispose()


def test_a_new_process_with_unchanged_files_plans_without_reading_them(make_app, campaigns_dir):
    write_campaign(campaigns_dir, extra='[[messages.update]]\nid = "u"\ntext = "Update"')
    first = plan(make_app(horizon_days=2))
    assert first.inserted and not first.skipped
    again = make_app(horizon_days=2)  # as a new process: nothing loaded in it yet
    report = plan(again)
    assert (report.inserted, report.updated, report.skipped) == (0, 0, 1)
    assert report.issues == first.issues  # its warnings are said again
    assert again._load_cache.files == {}  # no file was read


def test_a_changed_file_is_read_and_planned_at_the_next_start(make_app, campaigns_dir):
    path = write_campaign(campaigns_dir)
    plan(make_app(horizon_days=2))
    path.write_text(path.read_text().replace("CTA three", "CTA three, changed"), encoding="utf-8")
    report = plan(make_app(horizon_days=2))
    assert report.updated
    assert any("changed" in d.text for d in deliveries(make_app(horizon_days=2)))


def test_a_change_of_accounts_makes_the_next_start_check_the_files_again(make_app, campaigns_dir):
    write_campaign(campaigns_dir)
    plan(make_app(horizon_days=2))
    report = plan(make_app(horizon_days=2, accounts=("a1",)))  # a2 is gone from the config
    assert any("unknown account 'a2'" in str(i) for i in report.issues)


def test_a_record_older_than_an_hour_and_a_rolling_horizon_both_load_the_files(make_app, campaigns_dir, clock):
    write_campaign(campaigns_dir)
    plan(make_app(horizon_days=2))
    clock.advance(FRESH + timedelta(seconds=1))
    later = make_app(horizon_days=2)
    plan(later)
    assert later._load_cache.files  # read again
    clock.advance(timedelta(days=2))
    rolled = make_app(horizon_days=2)
    assert plan(rolled).inserted  # the horizon moved: extended from the files
    assert rolled._load_cache.files


def test_storing_the_files_from_elsewhere_makes_the_next_plan_read_them(make_app, campaigns_dir):
    from bot.worker.plan import store_files

    write_campaign(campaigns_dir)
    plan(make_app(horizon_days=2))
    store_files(make_app(horizon_days=2))  # a command or the web app, with its own config
    after = make_app(horizon_days=2)
    plan(after)
    assert after._load_cache.files


def test_campaign_bot_run_loads_no_web_app_alembic_or_client_library_on_its_way_to_the_first_post(tmp_path):
    """What `campaign-bot run` imports before its first tick, in a new process, on a database already current:
    the command line, the app, the daemon, a plan and the next due time."""
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    write_campaign(campaigns)
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndatabase_url = "sqlite:///{tmp_path / "bot.db"}"\ncampaigns_dir = "{campaigns}"\n'
                      '[accounts.a1]\nnetwork = "console"\n[accounts.a2]\nnetwork = "mastodon"\n'
                      'api_base_url = "https://mastodon.example"\naccess_token_env = "NOT_SET_HERE"\n',
                      encoding="utf-8")
    upgrade(make_engine(f"sqlite:///{tmp_path / 'bot.db'}"))
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from bot.cli import cli  # what the console script imports
        from bot.bootstrap import bootstrap
        from bot.config.settings import load_config
        from bot.worker.daemon import Daemon
        from bot.worker.plan import plan
        app = bootstrap(load_config(Path({str(config)!r})))
        daemon = Daemon(app)
        plan(app)
        plan(app)
        daemon.dispatcher.next_due_at()
        print(" ".join(sorted({{m.split(".")[0] for m in sys.modules}})))
        """)
    env = {**os.environ, "NOT_SET_HERE": "token"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    loaded = set(out.split())
    assert "bot" in loaded and "sqlalchemy" in loaded
    assert not loaded & set(NOT_ON_THE_WAY), sorted(loaded & set(NOT_ON_THE_WAY))
