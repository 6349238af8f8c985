"""Running and administering: run (and run --web), validate, accounts, db."""

from __future__ import annotations

import functools
import logging
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.bootstrap import App, bootstrap
from bot.cli.base import EXIT_ERROR, EXIT_OK, actor, by_option, cli, config_option, friendly, load, make_app
from bot.cli.supervise import supervise, watch_parent
from bot.config.settings import Config
from bot.errors import UserError
from bot.store.db import redact

BAR = "=" * 78


def refuse_misconfigured(app: App) -> None:
    """One line per account whose secrets cannot be read, then exit 1 (bot/accounts.py reads them). Without
    the key supporters' tokens are encrypted with, one line too (SecretKeyError)."""
    from bot.supporters.accounts import check_key

    check_key(app.sessions)
    if app.accounts.problems:
        for line in app.accounts.problems:
            click.echo(f"error: {line}", err=True)
        sys.exit(EXIT_ERROR)


def stand_in_lines(app: App) -> str:
    """Which network each console account stands in for (and whether that was guessed from its id)."""
    named = {a for c in app.load_campaigns(budgets=False).campaigns.values() for a in c.model.accounts}
    return "".join(f"\n   {line}" for line in app.accounts.stand_ins(named | set(app.accounts.ids())))


def throwaway_database(config: Config) -> Path:
    """Point a dry run at a new SQLite database in a temporary folder, so that it never claims, sends or
    marks a real delivery. Returns the folder (the caller removes it)."""
    folder = Path(tempfile.mkdtemp(prefix="campaign-bot-dry-run-"))
    config.bot.database_url = f"sqlite:///{folder / 'dry-run.db'}"
    return folder


@cli.command()
@config_option
@click.option("--dry-run", is_flag=True,
              help="Publish nothing: every account prints its posts here, planned from the files on a throwaway "
                   "database (the real one is not touched).")
@click.pass_context
@friendly
def run(ctx: click.Context, config_path: str | None, dry_run: bool) -> None:
    """Run the daemon: plan, post on time, send closing messages."""
    from bot.worker.daemon import Daemon

    logging.getLogger("bot").setLevel(logging.INFO)
    config = load(ctx, config_path, dry_run=dry_run)
    real_url = config.bot.database_url
    folder = throwaway_database(config) if dry_run else None
    try:
        app = bootstrap(config)
        refuse_misconfigured(app)
        if dry_run:
            click.echo(f"{BAR}\n DRY RUN: every account prints its posts here; NOTHING IS PUBLISHED.\n"
                       f" It runs on a throwaway database planned from the campaign files; the real database\n"
                       f" ({redact(real_url)}) is not read or changed, and this run's record is deleted at exit."
                       f"{stand_in_lines(app)}\n{BAR}", err=True)
        elif config.console_fallback:
            click.echo(f"{BAR}\n CONSOLE MODE (no config file): every account prints its posts here; "
                       f"NOTHING IS PUBLISHED.{stand_in_lines(app)}\n{BAR}", err=True)
        click.echo(f"database: {redact(config.bot.database_url)}; campaigns: {config.campaigns_dir}", err=True)
        Daemon(app).run()
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def run_with_web(config_path: str | None, dry_run: bool, port: int) -> None:
    """The worker and the web app as two child processes; Ctrl-C or SIGTERM stops both, and so does this
    process's death (bot/cli/supervise.py)."""
    base = [sys.executable, "-m", "bot"] + (["--config", config_path] if config_path else [])
    worker = base + ["run"] + (["--dry-run"] if dry_run else [])
    webapp = base + ["web", "--port", str(port)] + (["--dry-run"] if dry_run else [])

    def started() -> None:
        click.echo(f"worker and web app started: open http://127.0.0.1:{port}/  (Ctrl-C stops both)", err=True)

    sys.exit(supervise([worker, webapp], started))


@friendly
def _prepare_and_run(ctx: click.Context, kwargs: dict[str, Any], web_port: int) -> None:
    path = kwargs.get("config_path") or (ctx.find_root().obj or {}).get("config_path")
    dry_run = bool(kwargs.get("dry_run"))
    from bot.supporters.accounts import check_key

    # Migrate here, once: two children creating a fresh SQLite database at the same moment collide. A missing
    # key is said once, here, before anything is said to have started (each child would say it again).
    core = bootstrap(load(ctx, path, dry_run=dry_run))
    try:
        check_key(core.sessions)
    finally:
        core.engine.dispose()
    run_with_web(path, dry_run, web_port)


def add_web_option(run: click.Command) -> None:
    """`campaign-bot run --web [--port P]`: the worker plus the web app, for one machine."""
    original = run.callback
    assert original is not None
    run.params.append(click.Option(["--web"], is_flag=True, help="Also serve the web app (two child processes)."))
    run.params.append(click.Option(["--port", "web_port"], default=8000, show_default=True, envvar="PORT",
                                   type=click.IntRange(1, 65535), help="The web app's port, with --web."))

    @functools.wraps(original)
    def callback(*args: Any, web: bool = False, web_port: int = 8000, **kwargs: Any) -> Any:
        if not web:
            watch_parent()  # a child of `run --web` stops when it does
            return original(*args, **kwargs)
        return _prepare_and_run(click.get_current_context(), kwargs, web_port)

    run.callback = callback


add_web_option(run)


def _campaign_paths(paths: tuple[Path, ...]) -> list[Path] | None:
    """Files as given, and the campaign files inside any folder given."""
    from bot.campaigns.loader import campaign_files

    out: list[Path] = []
    for p in paths:
        out.extend(campaign_files(p) if p.is_dir() else [p])
    return out or None


@cli.command()
@config_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
@friendly
def validate(ctx: click.Context, config_path: str | None, paths: tuple[Path, ...]) -> None:
    """Check campaign files or folders (default: the campaigns folder); print every problem at once. Exit 1 if
    any is an error."""
    from bot.campaigns.validate import load_campaigns

    config = load(ctx, config_path)
    from bot.accounts.directory import AccountDirectory

    result = load_campaigns(config, datetime.now(UTC), _campaign_paths(paths))
    misconfigured = AccountDirectory(config).problems
    for line in misconfigured:
        click.echo(f"{config.path}: {line}", err=True)
    for issue in result.issues:
        click.echo(str(issue), err=issue.severity == "error")
    errors = len(result.errors) + len(misconfigured)
    click.echo(f"{len(result.campaigns)} campaign(s) valid, {len(result.failed)} invalid, {errors} error(s)")
    sys.exit(EXIT_ERROR if errors else EXIT_OK)


@cli.group()
def accounts() -> None:
    """The accounts in the config: check credentials and limits, re-enable after fixing credentials."""


@accounts.command("check")
@config_option
@click.pass_context
@friendly
def accounts_check(ctx: click.Context, config_path: str | None) -> None:
    """Log in to every configured account and show who it is and its limits. Exit 1 if any fails."""
    from bot.networks.base import NetworkError

    app = make_app(ctx, config_path)
    if not app.config.accounts:
        raise UserError("no accounts configured: add [accounts.ID] tables to the config file")
    refuse_misconfigured(app)
    failed = 0
    for account_id, settings in sorted(app.config.accounts.items()):
        try:
            info = app.network(account_id).check()
        except (NetworkError, UserError) as exc:
            failed += 1
            click.echo(f"{account_id} ({settings.network}): FAILED: {exc}")
            continue
        limits = ", ".join(f"{k}={v}" for k, v in info.limits.items())
        click.echo(f"{account_id} ({settings.network}): {info.handle} {info.url or ''} {limits}".rstrip())
    sys.exit(EXIT_ERROR if failed else EXIT_OK)


@accounts.command("enable")
@config_option
@click.argument("account")
@by_option("enables it")
@click.pass_context
@friendly
def accounts_enable(ctx: click.Context, config_path: str | None, account: str, by: str) -> None:
    """Re-enable an account that was disabled when its credentials were refused."""
    from bot.actions.accounts import enable_account

    app = make_app(ctx, config_path)
    click.echo(enable_account(app, actor(app, by), account).message)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command()
@config_option
@click.pass_context
@friendly
def upgrade(ctx: click.Context, config_path: str | None) -> None:
    """Create or migrate the database schema to the latest revision."""
    from bot.store.db import make_engine
    from bot.store.db import upgrade as do_upgrade

    config = load(ctx, config_path)
    engine = make_engine(config.bot.database_url)
    do_upgrade(engine)
    click.echo(f"database {redact(config.bot.database_url)} is up to date")
