"""Commands for the web app: `web`, `run --web`, `users ...`, `tokens create`.

bot/cli.py registers them with register(); they build the app the same way as every other command.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from bot.config.settings import CONFIG_ENV
from bot.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])
ADMIN_ACTOR = "campaign-bot"


def _config_option(func: F) -> F:
    return click.option("--config", "config_path", envvar=CONFIG_ENV, type=click.Path(dir_okay=False),
                        help=f"Config file (default: ./config.toml if present; env {CONFIG_ENV}).")(func)


def _friendly(func: F) -> F:
    """bot.cli.friendly, looked up when called (bot.cli imports this module at its end)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from bot.cli.base import friendly

        return friendly(func)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _core(ctx: click.Context, config_path: str | None, dry_run: bool = False) -> Any:
    from bot.bootstrap import bootstrap
    from bot.cli.base import load

    return bootstrap(load(ctx, config_path, dry_run=dry_run))


@click.command("web")
@_config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), envvar="PORT",
              help="Port to listen on (env PORT).")
@click.option("--behind-https", is_flag=True, envvar="CAMPAIGN_BOT_BEHIND_HTTPS",
              help="Served through HTTPS (a proxy): session cookies are marked Secure.")
@click.option("--approval", type=click.Choice(["none", "required"]), default=None,
              help="Posts organisers queue wait for a staff member's approval (default: none; env "
                   "CAMPAIGN_BOT_APPROVAL).")
@click.option("--close-approval", type=click.Choice(["none", "required"]), default=None,
              help="A close waits for a second staff member (default: none; env CAMPAIGN_BOT_CLOSE_APPROVAL).")
@click.option("--dry-run", is_flag=True, hidden=True, help="Console stand-ins, as `run --dry-run --web` starts it.")
@click.pass_context
@_friendly
def web(ctx: click.Context, config_path: str | None, host: str, port: int, behind_https: bool,
        approval: str | None, close_approval: str | None, dry_run: bool) -> None:
    """Serve the web app for staff and organisers (the worker runs separately: campaign-bot run)."""
    import uvicorn

    from bot.cli.base import sync as _sync
    from bot.supporters.accounts import check_key
    from bot.web.app import create_app
    from bot.web.users import first_run_link

    core = _core(ctx, config_path, dry_run)
    check_key(core.sessions)  # supporters' tokens are stored: the key must be set (one line if not)
    _sync(core)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    link = first_run_link(core, f"http://{shown}:{port}")
    if link:
        click.echo("=" * 78 + "\n No users yet: an admin was created. Sign in ONCE with this link, then choose a "
                   f"password:\n   {link}\n" + "=" * 78, err=True)
    click.echo(f"campaign-bot web: http://{shown}:{port}/", err=True)
    webapp = create_app(core, https_only=behind_https, approval_default=approval,
                        close_approval_default=close_approval)
    uvicorn.run(webapp, host=host, port=port, proxy_headers=behind_https, log_level="warning")


def run_with_web(config_path: str | None, dry_run: bool, port: int) -> None:
    """The worker and the web app as two child processes; Ctrl-C (or SIGTERM) stops both."""
    base = [sys.executable, "-m", "bot"] + (["--config", config_path] if config_path else [])
    worker = base + ["run"] + (["--dry-run"] if dry_run else [])
    webapp = base + ["web", "--port", str(port)] + (["--dry-run"] if dry_run else [])
    children = [subprocess.Popen(worker), subprocess.Popen(webapp)]
    click.echo(f"worker and web app started: open http://127.0.0.1:{port}/  (Ctrl-C stops both)", err=True)

    def _terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    status = 0
    try:
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
        status = next(c.returncode for c in children if c.returncode is not None)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
    sys.exit(status)


@_friendly
def _prepare_and_run(ctx: click.Context, kwargs: dict[str, Any], web_port: int) -> None:
    path = kwargs.get("config_path") or (ctx.find_root().obj or {}).get("config_path")
    dry_run = bool(kwargs.get("dry_run"))
    from bot.supporters.accounts import check_key

    # Migrate here, once: two children creating a fresh SQLite database at the same moment collide. A missing
    # key is said once, here, before anything is said to have started (each child would say it again).
    core = _core(ctx, path, dry_run)
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
            return original(*args, **kwargs)
        return _prepare_and_run(click.get_current_context(), kwargs, web_port)

    run.callback = callback


@click.group("users")
def users_group() -> None:
    """People who sign in to the web app, and their roles (admin, staff, organiser)."""


@users_group.command("add")
@_config_option
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "staff", "organiser"]),
              help="What the person may do: organiser queues posts; staff also closes, pauses and approves; "
                   "admin also manages people.")
@click.option("--password-env", metavar="VAR", help="Read the password from this environment variable "
                                                     "(default: ask for it).")
@click.pass_context
@_friendly
def users_add(ctx: click.Context, config_path: str | None, name: str, role: str, password_env: str | None) -> None:
    """Add a person who signs in to the web app."""
    from bot.web import users

    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise UserError(f"--password-env {password_env}: that environment variable is not set")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    users.add_user(_core(ctx, config_path), name, role, password, ADMIN_ACTOR)
    click.echo(f"added {name} ({role})")


@users_group.command("list")
@_config_option
@click.pass_context
@_friendly
def users_list(ctx: click.Context, config_path: str | None) -> None:
    """Everyone who may sign in, with their role."""
    from bot.web import users

    rows = users.list_users(_core(ctx, config_path))
    for u in rows:
        click.echo(f"{u['name']}\t{u['role']}\tsince {u['created_at']}")
    if not rows:
        click.echo("no users yet: `campaign-bot web` creates an admin on its first start")


@users_group.command("remove")
@_config_option
@click.argument("name")
@click.pass_context
@_friendly
def users_remove(ctx: click.Context, config_path: str | None, name: str) -> None:
    """Remove a person: their open sessions stop working at once."""
    from bot.web import users

    users.remove_user(_core(ctx, config_path), name, ADMIN_ACTOR)
    click.echo(f"removed {name}")


@users_group.command("set-role")
@_config_option
@click.argument("name")
@click.argument("role", type=click.Choice(["admin", "staff", "organiser"]))
@click.pass_context
@_friendly
def users_set_role(ctx: click.Context, config_path: str | None, name: str, role: str) -> None:
    """Change a person's role."""
    from bot.web import users

    users.set_role(_core(ctx, config_path), name, role, ADMIN_ACTOR)
    click.echo(f"{name} is now {role}")


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for scripts (send them as Authorization: Bearer TOKEN)."""


@tokens_group.command("create")
@_config_option
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "staff", "organiser"]),
              help="What a script holding the token may do (as a person with that role).")
@click.pass_context
@_friendly
def tokens_create(ctx: click.Context, config_path: str | None, name: str, role: str) -> None:
    """Create a token and print it once: only its hash is kept."""
    from bot.web import users

    token = users.create_token(_core(ctx, config_path), name, role, ADMIN_ACTOR)
    click.echo(token)
    click.echo(f"token {name!r} ({role}) created; this is the only time it is shown", err=True)


def register(cli: click.Group, run: click.Command) -> None:
    for command in (web, users_group, tokens_group):
        cli.add_command(command)
    add_web_option(run)
