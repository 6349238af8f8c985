"""The command line. Thin: each command builds the app with bootstrap() and calls one function.

A user's mistake is one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import functools
import getpass
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError

from bot import lifecycle, reports
from bot.app import App, bootstrap
from bot.config import CONFIG_ENV, load_config
from bot.errors import UserError
from bot.store.db import redact

F = TypeVar("F", bound=Callable[..., Any])
out = Console(highlight=False, soft_wrap=True)


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def config_option(func: F) -> F:
    return click.option("--config", "config_path", envvar=CONFIG_ENV, type=click.Path(dir_okay=False),
                        help=f"Config file (default: ./config.toml if present; env {CONFIG_ENV}).")(func)


def friendly(func: F) -> F:
    """Turn user errors and an unreachable database into one clear line and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except OperationalError as exc:
            click.echo(f"error: database unavailable: {str(exc.orig).strip().splitlines()[0]}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _app(ctx: click.Context, config_path: str | None, *, dry_run: bool = False) -> App:
    path = config_path or (ctx.obj or {}).get("config_path")
    return bootstrap(load_config(path, dry_run=dry_run))


def _sync(app: App) -> None:
    """Make the database know the campaigns on disk (lifecycle commands work without a daemon)."""
    from bot.planner import sync_definitions
    from bot.store.locks import PLAN_LOCK, advisory_lock

    result = app.load_campaigns()
    with advisory_lock(app.engine, PLAN_LOCK, wait=True):  # not while a worker's planner writes the same rows
        sync_definitions(app, result)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group()
@click.option("--config", "config_path", envvar=CONFIG_ENV, type=click.Path(dir_okay=False), hidden=True)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.version_option(package_name="campaign-bot")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """campaign-bot: posts urgent-action calls to action on schedule, and the thanks when a case closes."""
    ctx.obj = {"config_path": config_path}
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@cli.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Serve every account with the console network: nothing is published.")
@click.pass_context
@friendly
def run(ctx: click.Context, config_path: str | None, dry_run: bool) -> None:
    """Run the daemon: plan, post on time, send closing messages."""
    from bot.daemon import Daemon

    logging.getLogger("bot").setLevel(logging.INFO)
    app = _app(ctx, config_path, dry_run=dry_run)
    if app.config.console_fallback:
        why = "--dry-run" if dry_run else "no config file"
        click.echo("=" * 78 + f"\n CONSOLE MODE ({why}): every account prints its posts here; NOTHING IS PUBLISHED.\n"
                   + "=" * 78, err=True)
    click.echo(f"database: {redact(app.config.bot.database_url)}; campaigns: {app.config.campaigns_dir}", err=True)
    Daemon(app).run()


@cli.command()
@config_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
@friendly
def validate(ctx: click.Context, config_path: str | None, paths: tuple[Path, ...]) -> None:
    """Check campaign files; print every problem at once. Exit 1 if any is an error."""
    config = load_config(config_path or (ctx.obj or {}).get("config_path"))
    from datetime import UTC, datetime

    from bot.campaigns.validate import load_campaigns

    result = load_campaigns(config, datetime.now(UTC), list(paths) or None)
    for issue in result.issues:
        click.echo(str(issue), err=issue.severity == "error")
    errors = len(result.errors)
    click.echo(f"{len(result.campaigns)} campaign(s) valid, {len(result.failed)} invalid, {errors} error(s)")
    sys.exit(1 if errors else 0)


@cli.command("plan")
@config_option
@click.argument("campaign", required=False)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def plan_cmd(ctx: click.Context, config_path: str | None, campaign: str | None, days: int, as_json: bool) -> None:
    """Show the upcoming posts per account, with each text's length against its network's limit."""
    app = _app(ctx, config_path)
    rows, issues = reports.preview(app, campaign, days)
    for issue in issues:
        click.echo(issue, err=True)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out.print("nothing planned")
    account = None
    for r in rows:
        if r["account"] != account:
            account = r["account"]
            out.print(f"\n[bold]{account}[/bold] ({r['network']})")
        flag = "[red]TOO LONG[/red]" if r["length"] > r["limit"] else ""
        out.print(f"  {r['due_at']}  {r['campaign']}  {r['kind']}  {r['language']}  {r['length']}/{r['limit']} {flag}")
        out.print(f"    {r['text']}", markup=False)


@cli.command("status")
@config_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def status_cmd(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """Campaigns, their state, next post, and counts of sent, pending, failed and unknown deliveries."""
    app = _app(ctx, config_path)
    _sync(app)
    data = reports.status(app)
    if as_json:
        _print_json(data)
        return
    stop = data["emergency_stop"]
    if stop["active"]:
        out.print(f"[bold red]EMERGENCY STOP[/bold red] by {stop['by']}: {stop['reason'] or ''}")
    table = Table("campaign", "state", "next post", "sent", "pending", "failed", "unknown", "missed")
    for c in data["campaigns"]:
        state = c["state"] + (f" ({c['outcome']})" if c["outcome"] else "")
        table.add_row(c["id"], state, c["next_post"] or "-", str(c["sent"]), str(c["pending"]), str(c["failed"]),
                      str(c["unknown"]), str(c["missed"]))
    out.print(table)
    for a in data["accounts"]:
        if a["disabled"]:
            out.print(f"[red]account {a['account']} DISABLED[/red]: {a['reason']}")
        else:
            out.print(f"account {a['account']} rate limited until {a['rate_limited_until']}")
    for d in data["needs_attention"]:
        out.print(f"[yellow]needs a person[/yellow]: delivery {d['id']} ({d['campaign']}, {d['account']}): "
                  f"{d['error']}", markup=True)


@cli.command("history")
@config_option
@click.argument("campaign", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def history_cmd(ctx: click.Context, config_path: str | None, campaign: str | None, as_json: bool) -> None:
    """Deliveries: sent, failed, cancelled, missed, unknown, and those due now."""
    app = _app(ctx, config_path)
    rows = reports.history(app, campaign)
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "due", "campaign", "account", "kind", "lang", "status", "url / error")
    for r in rows:
        table.add_row(str(r["id"]), r["due_at"], r["campaign"], r["account"], r["kind"], r["language"], r["status"],
                      r["remote_url"] or r["error"] or "")
    out.print(table)


@cli.command()
@config_option
@click.argument("campaign")
@click.option("--at", "when", required=True, help="ISO 8601 time with offset, or 'now'.")
@click.option("--text", required=True, help="The post; a template like a message in a campaign file.")
@click.option("--account", help="Only this account (default: every account of the campaign).")
@click.option("--language", help="The text's language (default: the campaign's first).")
@click.option("--by", default=_default_actor, help="Who queues it (for the audit log).")
@click.pass_context
@friendly
def queue(ctx: click.Context, config_path: str | None, campaign: str, when: str, text: str, account: str | None,
          language: str | None, by: str) -> None:
    """Queue an extra post for a campaign."""
    app = _app(ctx, config_path)
    _sync(app)
    result = lifecycle.queue(app, campaign, lifecycle.parse_when(when, app.clock.now()), text, by, account, language)
    click.echo(result.message)


@cli.command()
@config_option
@click.argument("campaign")
@click.option("--outcome", required=True, type=click.Choice(["success", "no-further-action"]))
@click.option("--note", help="Why, for the audit log.")
@click.option("--by", default=_default_actor, help="Who closes it (for the audit log).")
@click.pass_context
@friendly
def close(ctx: click.Context, config_path: str | None, campaign: str, outcome: str, note: str | None, by: str) -> None:
    """Close a campaign: cancel pending calls to action and post the closing message everywhere."""
    app = _app(ctx, config_path)
    _sync(app)
    click.echo(lifecycle.close(app, campaign, outcome, by, note).message)


def _state_command(action: str, help_text: str, allow_all: bool) -> None:
    @cli.command(action, help=help_text)
    @config_option
    @click.argument("campaign", required=False)
    @click.option("--note", help="Why, for the audit log.")
    @click.option("--by", default=_default_actor, help="Who does it (for the audit log).")
    @click.pass_context
    @friendly
    def command(ctx: click.Context, config_path: str | None, campaign: str | None, note: str | None, by: str,
                **kw: Any) -> None:
        app = _app(ctx, config_path)
        if kw.get("all_"):
            if campaign:
                raise UserError(f"{action}: give a campaign or --all, not both")
            click.echo(lifecycle.pause_all(app, by, kw.get("reason") or note, paused=action == "pause").message)
            return
        if not campaign:
            raise UserError(f"{action}: which campaign?" + (" (or --all)" if allow_all else ""))
        _sync(app)
        click.echo(lifecycle.set_state(app, campaign, action, by, note).message)

    if allow_all:
        click.option("--all", "all_", is_flag=True, help="Every campaign: the emergency stop.")(command)
        if action == "pause":
            click.option("--reason", help="Why (shown in status).")(command)


_state_command("pause", "Pause a campaign, or with --all hold every dispatch (the emergency stop).", True)
_state_command("resume", "Resume a paused campaign, or with --all lift the emergency stop.", True)
_state_command("reopen", "Reopen a closed campaign; unsent closing messages are cancelled.", False)


@cli.command()
@config_option
@click.argument("delivery", type=int)
@click.option("--sent", "sent_url", metavar="URL", help="It was posted: its URL.")
@click.option("--not-sent", is_flag=True, help="It was not posted: send it again now.")
@click.option("--cancel", is_flag=True, help="Do not send it.")
@click.option("--by", default=_default_actor)
@click.pass_context
@friendly
def resolve(ctx: click.Context, config_path: str | None, delivery: int, sent_url: str | None, not_sent: bool,
            cancel: bool, by: str) -> None:
    """Settle a delivery whose outcome is unknown, after checking the account by hand."""
    if sum(bool(x) for x in (sent_url, not_sent, cancel)) != 1:
        raise UserError("resolve: give exactly one of --sent URL, --not-sent or --cancel")
    app = _app(ctx, config_path)
    click.echo(lifecycle.resolve(app, delivery, by, sent_url=sent_url, resend=not_sent).message)


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

    app = _app(ctx, config_path)
    if not app.config.accounts:
        raise UserError("no accounts configured: add [accounts.ID] tables to the config file")
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
    sys.exit(1 if failed else 0)


@accounts.command("enable")
@config_option
@click.argument("account")
@click.pass_context
@friendly
def accounts_enable(ctx: click.Context, config_path: str | None, account: str) -> None:
    """Re-enable an account that was disabled when its credentials were refused."""
    from bot import account_state

    app = _app(ctx, config_path)
    changed = account_state.enable(app, account)
    click.echo(f"{account} enabled" if changed else f"{account} was not disabled; nothing changed")


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

    config = load_config(config_path or (ctx.obj or {}).get("config_path"))
    engine = make_engine(config.bot.database_url)
    do_upgrade(engine)
    click.echo(f"database {redact(config.bot.database_url)} is up to date")


def main() -> None:
    cli(prog_name="campaign-bot")


from bot.web.cli import register as _register_web  # noqa: E402 - the web app's commands (issue 10)

_register_web(cli, run)
