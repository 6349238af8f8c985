"""Commands for the web app: `web`, `users ...`, `tokens create` (`run --web` is bot/cli/admin.py's).

They build the app the same way as every other command.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from bot.actions import people
from bot.bootstrap import App, bootstrap
from bot.cli.base import actor, by_option, cli, friendly, load, sync
from bot.cli.base import config_option as _config_option
from bot.cli.language import users_set_language
from bot.cli.supervise import watch_parent
from bot.errors import UserError
from bot.queries.people import list_users
from bot.states import Role

F = TypeVar("F", bound=Callable[..., Any])
ROLES = [str(r) for r in Role]
_friendly = friendly


def _core(ctx: click.Context, config_path: str | None, dry_run: bool = False) -> App:
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
@click.option("--forwarded-allow-ips", metavar="IPS", envvar="FORWARDED_ALLOW_IPS",
              help="The proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: addresses or networks, "
                   "comma-separated (default with --behind-https: 127.0.0.1,::1; never *; env FORWARDED_ALLOW_IPS).")
@click.option("--dry-run", is_flag=True, hidden=True, help="Console stand-ins, as `run --dry-run --web` starts it.")
@click.pass_context
@_friendly
def web(ctx: click.Context, config_path: str | None, host: str, port: int, behind_https: bool,
        approval: str | None, close_approval: str | None, forwarded_allow_ips: str | None, dry_run: bool) -> None:
    """Serve the web app for staff and organisers (the worker runs separately: campaign-bot run)."""
    import uvicorn

    from bot.config.keys import KEY_ENV, raw_keys
    from bot.supporters.accounts import check_key
    from bot.web.app import create_app

    watch_parent()
    options = server_options(host, port, behind_https, forwarded_allow_ips)
    core = _core(ctx, config_path, dry_run)
    check_key(core.sessions)  # supporters' tokens are stored: the key must be set (one line if not)
    if not raw_keys():
        click.echo(f"note: ${KEY_ENV} is not set: session cookies are signed with a key made for this process, "
                   "so everyone signs in again when the web app restarts", err=True)
    sync(core)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # a comparison, not a bind  # nosec B104
    link = people.first_run_link(core, f"http://{shown}:{port}")
    if link:
        click.echo("=" * 78 + "\n No users yet: an admin was created. Sign in ONCE with this link, then choose a "
                   f"password:\n   {link}\n" + "=" * 78, err=True)
    click.echo(f"campaign-bot web: http://{shown}:{port}/", err=True)
    webapp = create_app(core, https_only=behind_https, approval_default=approval,
                        close_approval_default=close_approval)
    uvicorn.run(webapp, **options)


def server_options(host: str, port: int, behind_https: bool, forwarded_allow_ips: str | None) -> dict[str, Any]:
    """uvicorn's settings. The client's address (sign-in limits count by it) comes from X-Forwarded-For only when
    the connection comes from a listed proxy, and then it is the first address from the right that is not a
    listed proxy: a client cannot choose it. "*" would believe the leftmost entry, which the client writes."""
    if forwarded_allow_ips is not None and "*" in forwarded_allow_ips:
        raise UserError("--forwarded-allow-ips: list the proxies' addresses or networks; * would let any client "
                        "choose the address sign-in limits count by")
    trusted = forwarded_allow_ips or "127.0.0.1,::1"
    return {"host": host, "port": port, "proxy_headers": behind_https or forwarded_allow_ips is not None,
            "forwarded_allow_ips": trusted, "log_level": "warning", "server_header": False}


@click.group("users")
def users_group() -> None:
    """People who sign in to the web app, and their roles (admin, staff, organiser)."""


@users_group.command("add")
@_config_option
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="What the person may do: organiser queues posts; staff also closes, pauses and approves; "
                   "admin also manages people.")
@click.option("--password-env", metavar="VAR", help="Read the password from this environment variable "
                                                     "(default: ask for it).")
@by_option("adds them")
@click.pass_context
@_friendly
def users_add(ctx: click.Context, config_path: str | None, name: str, role: str, password_env: str | None,
              by: str) -> None:
    """Add a person who signs in to the web app."""
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise UserError(f"--password-env {password_env}: that environment variable is not set")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    core = _core(ctx, config_path)
    click.echo(people.add_user(core, actor(core, by), name, role, password).message)


@users_group.command("list")
@_config_option
@click.pass_context
@_friendly
def users_list(ctx: click.Context, config_path: str | None) -> None:
    """Everyone who may sign in, with their role."""
    rows = list_users(_core(ctx, config_path))
    for u in rows:
        click.echo(f"{u.name}\t{u.role}\tsince {u.created_at.isoformat(timespec='seconds')}")
    if not rows:
        click.echo("no users yet: `campaign-bot web` creates an admin on its first start")


@users_group.command("remove")
@_config_option
@click.argument("name")
@by_option("removes them")
@click.pass_context
@_friendly
def users_remove(ctx: click.Context, config_path: str | None, name: str, by: str) -> None:
    """Remove a person: their open sessions stop working at once."""
    core = _core(ctx, config_path)
    click.echo(people.remove_user(core, actor(core, by), name).message)


@users_group.command("set-role")
@_config_option
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@by_option("changes it")
@click.pass_context
@_friendly
def users_set_role(ctx: click.Context, config_path: str | None, name: str, role: str, by: str) -> None:
    """Change a person's role."""
    core = _core(ctx, config_path)
    click.echo(people.set_role(core, actor(core, by), name, role).message)


@users_group.command("password-link")
@_config_option
@click.argument("name")
@click.option("--url", "base_url", metavar="URL", help="The web app's address (default: [amplify] public_url, else "
                                                         "http://127.0.0.1:8000).")
@by_option("issues it")
@click.pass_context
@_friendly
def users_password_link(ctx: click.Context, config_path: str | None, name: str, base_url: str | None,
                        by: str) -> None:
    """Print a link for NAME to choose a new password: it works once, for a day, and signs them out elsewhere."""
    core = _core(ctx, config_path)
    base = base_url or core.config.amplify.public_url or "http://127.0.0.1:8000"
    result, link = people.issue_password_link(core, actor(core, by), name, base)
    click.echo(link)
    click.echo(result.message, err=True)


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for scripts (send them as Authorization: Bearer TOKEN)."""


@tokens_group.command("create")
@_config_option
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="What a script holding the token may do (at most what the person it acts as may do).")
@by_option("creates it (the token acts as this person)")
@click.pass_context
@_friendly
def tokens_create(ctx: click.Context, config_path: str | None, name: str, role: str, by: str) -> None:
    """Create a token and print it once: only its hash is kept. It acts as the person who created it."""
    core = _core(ctx, config_path)
    result, token = people.create_token(core, actor(core, by), name, role)
    click.echo(token)
    click.echo(result.message, err=True)


for _command in (web, users_group, tokens_group):
    cli.add_command(_command)
users_group.add_command(users_set_language)  # users set-language (bot/cli/language.py)
