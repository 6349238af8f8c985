"""A worker that starts again reaches its first tick cheaply: the database's revision read without Alembic, the
campaign files not read when nothing they depend on changed (bot/planning/scan.py), and `campaign-bot run` not
loading the web app, Alembic, the network client libraries, the other commands' modules, the campaign files'
checks and templates (Jinja2) or the network adapters (a subprocess looks at what it imported)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.cli.base import COMMANDS, cli
from bot.networks.registry import ADAPTERS, DECLARED, Capability, capabilities, found_capabilities, kinds_that
from bot.planning.scan import FRESH
from bot.store.db import _alembic_config, current_revision, head_revision, make_engine, upgrade
from bot.worker.plan import plan
from tests.conftest import TARGETS, deliveries, write_campaign

REPO = Path(__file__).resolve().parent.parent
NOT_ON_THE_WAY = ("alembic", "mako", "fastapi", "starlette", "uvicorn", "babel", "rich", "httpx", "httpcore",
                  "cryptography", "argon2", "mastodon", "tweepy", "atproto", "telegram", "requests")
NOT_ON_A_RESTART = ("jinja2", "markupsafe", "difflib")
"""What a restart whose files did not change does without, beyond the above: the files' templates and checks."""
OURS_NOT_ON_A_RESTART = ("bot.cli.actions", "bot.cli.views", "bot.cli.report", "bot.cli.supporters", "bot.cli.web",
                       "bot.cli.alerts", "bot.actions.base", "bot.queries", "bot.campaigns.validate",
                       "bot.campaigns.loader", "bot.campaigns.schema", "bot.campaigns.schedule",
                       "bot.campaigns.templates", "bot.planning.rows", "bot.web", "bot.alerts",
                       *(target.partition(":")[0] for kind, target in ADAPTERS.items()
                         if kind not in ("console", "mastodon")))
"""Our modules a restart with unchanged files does without: the other commands', the action layer, the campaign
files' loader, schema, checks, schedules and templates, alerting (none configured), and the adapters of networks
no account uses (the config's console and Mastodon accounts' are imported with the config: their settings'
models)."""


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


def _modules_of_a_new_run_process(tmp_path: Path, *, planned_before: bool) -> set[str]:
    """The modules `campaign-bot run` has imported by its first tick, in a new process on a database already
    current: the command line and the run command's module, the app, the daemon, a plan and the next due time.
    ``planned_before``: an earlier process planned the same files (a restart); else this plans them first."""
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "targets.toml").write_text(TARGETS, encoding="utf-8")
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
        import click
        from bot.cli import cli  # what the console script imports
        cli.get_command(click.Context(cli), "run")  # the run command's module, as `campaign-bot run` loads it
        from bot.bootstrap import bootstrap
        from bot.config.settings import load_config
        from bot.worker.daemon import Daemon
        from bot.worker.plan import plan
        app = bootstrap(load_config(Path({str(config)!r})))
        daemon = Daemon(app)
        skipped = plan(app).skipped
        plan(app)
        daemon.dispatcher.next_due_at()
        from sqlalchemy import inspect
        from bot.store.models import CampaignRow
        print(skipped, inspect(CampaignRow).configured, " ".join(sorted(sys.modules)))
        """)
    env = {**os.environ, "NOT_SET_HERE": "token"}
    runs = [subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=120) for _ in range(2 if planned_before else 1)]
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr[-2000:]
    skipped, configured, *modules = runs[-1].stdout.split()
    assert skipped == ("1" if planned_before else "0")  # the restart did not read the files
    return set(modules) | ({"the ORM's mappers configured"} if configured == "True" else set())


def test_campaign_bot_run_loads_no_web_app_alembic_or_client_library_on_its_way_to_the_first_post(tmp_path):
    modules = _modules_of_a_new_run_process(tmp_path, planned_before=False)
    loaded = {m.split(".")[0] for m in modules}
    assert "bot" in loaded and "sqlalchemy" in loaded and "bot.cli.admin" in modules
    assert not loaded & set(NOT_ON_THE_WAY), sorted(loaded & set(NOT_ON_THE_WAY))


def test_a_restart_with_unchanged_files_loads_no_other_command_template_engine_or_network_adapter(tmp_path):
    modules = _modules_of_a_new_run_process(tmp_path, planned_before=True)
    loaded = {m.split(".")[0] for m in modules}
    assert not loaded & set(NOT_ON_THE_WAY + NOT_ON_A_RESTART), sorted(loaded & set(NOT_ON_THE_WAY + NOT_ON_A_RESTART))
    ours = sorted(m for m in modules if m.startswith(OURS_NOT_ON_A_RESTART))
    assert ours == [], ours
    # Its questions are plain SQL: the first ORM statement configures every mapper, which can wait until after.
    assert "the ORM's mappers configured" not in modules


def test_every_command_is_listed_with_the_module_that_defines_it():
    ctx = click.Context(cli)
    for name in COMMANDS:
        assert cli.get_command(ctx, name) is not None, name
    assert set(cli.commands) == set(COMMANDS)  # every module of a listed command imported: nothing unlisted


def test_the_capabilities_declared_for_each_network_are_what_its_adapter_class_says():
    assert set(DECLARED) == set(ADAPTERS)
    for kind in ADAPTERS:
        assert capabilities(kind) == found_capabilities(kind), kind


def test_an_adapter_registered_in_place_of_a_built_in_one_is_asked_what_it_can_do(monkeypatch):
    assert "mastodon" in kinds_that(Capability.BOOST)
    monkeypatch.setitem(ADAPTERS, "mastodon", ADAPTERS["console"])
    assert capabilities("mastodon") == frozenset()
    assert "mastodon" not in kinds_that(Capability.BOOST)
