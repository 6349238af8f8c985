"""The command group and what every command shares: the config option, the one-line error handler, who acts.

The group is lazy (COMMANDS): a command's module is imported when that command is asked for, so `campaign-bot
run` does not import every other command's module and the action layer on its way to its first post (a restart
is timed to it: bench/peer.py). `--help` imports them all."""

from __future__ import annotations

import functools
import getpass
import importlib
import json
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from sqlalchemy.exc import OperationalError

from bot.actions.errors import ActionError
from bot.bootstrap import App, bootstrap
from bot.config.settings import CONFIG_ENV, Config, load_config
from bot.errors import UserError

if TYPE_CHECKING:
    from bot.actions.base import Actor

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_CODES = {
    EXIT_OK: "success (validate: no errors; accounts check: every account answered)",
    EXIT_ERROR: "a user error (one line on stderr), invalid campaign files, a failed account check, or the "
                "database unavailable",
    EXIT_USAGE: "the command line itself is wrong: unknown command or option, missing argument",
}


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def config_option(func: F) -> F:
    return click.option("--config", "config_path", envvar=CONFIG_ENV, type=click.Path(dir_okay=False),
                        help=f"Config file (default: ./config.toml if present; env {CONFIG_ENV}).")(func)


def by_option(what: str) -> Callable[[F], F]:
    """``--as NAME`` (``--by`` is the older spelling): who acts. A user of the web app acts with their role; any
    other name (by default the login name) with the admin role, as whoever holds the database may."""

    def decorate(func: F) -> F:
        return click.option("--as", "--by", "by", default=default_actor, show_default="your login name",
                            help=f"Who {what}: a user of the web app acts with their role, anyone else as an admin "
                                 "(for the audit log and four eyes).")(func)

    return decorate


def actor(app: App, name: str) -> Actor:
    """The person the command acts as (see by_option)."""
    from bot.actions.base import Actor, Via
    from bot.actions.people import person
    from bot.states import Role

    return person(app, name, Via.CLI) or Actor(name, Role.ADMIN, Via.CLI)


FLAGS = {"text": "--text", "at": "--at", "language": "--language", "account": "--account", "outcome": "--outcome",
         "reason": "--reason", "url": "--sent", "note": "--note", "role": "--role", "password": "--password-env",
         "network": "--network"}
"""How the CLI names the field an action's error is about."""
HINTS = {"no_delivery": " (see `campaign-bot history` or `plan`)",
         "no_campaign": " (campaigns are known once loaded: run `campaign-bot validate` or `plan`)",
         "closed_no_queue": " (`campaign-bot reopen` it first)",
         "being_sent": " (`campaign-bot history` shows how it went)"}


def cli_message(exc: UserError) -> str:
    """An action's refusal as the CLI says it: the flag it is about, the sentence, a hint of what to run."""
    if not isinstance(exc, ActionError):
        return str(exc)
    flag = FLAGS.get(exc.field or "")
    return (f"{flag}: " if flag else "") + exc.message + HINTS.get(exc.code, "")


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print JSON (times in UTC, ISO 8601) instead of a table.")(func)


def friendly(func: F) -> F:
    """Turn user errors and an unreachable database into one clear line and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            click.echo(f"error: {cli_message(exc)}", err=True)
            sys.exit(EXIT_ERROR)
        except OperationalError as exc:
            click.echo(f"error: database unavailable: {str(exc.orig).strip().splitlines()[0]}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def load(ctx: click.Context, config_path: str | None, *, dry_run: bool = False) -> Config:
    return load_config(config_path or (ctx.obj or {}).get("config_path"), dry_run=dry_run)


def make_app(ctx: click.Context, config_path: str | None) -> App:
    return bootstrap(load(ctx, config_path))


def sync(app: App) -> None:
    """Make the database know the campaigns on disk, for the commands that change state (they work without a
    daemon). Reports never call this: they are read-only."""
    from bot.worker.plan import store_files

    store_files(app)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


COMMANDS = {
    "run": "admin", "validate": "admin", "accounts": "admin", "db": "admin",
    "queue": "actions", "edit": "actions", "cancel": "actions", "resolve": "actions", "close": "actions",
    "pause": "actions", "resume": "actions", "reopen": "actions", "approvals": "actions",
    "plan": "views", "status": "views", "history": "views",
    "report": "report", "alerts": "alerts", "supporters": "supporters", "secrets": "supporters",
    "web": "web", "users": "web", "tokens": "web",
}
"""Each top-level command and the module of bot/cli that defines it (on `cli`, when imported)."""


class LazyGroup(click.Group):
    """A group whose commands are defined by modules imported on first use (click's documented way to load
    subcommands lazily: list_commands and get_command). ``commands`` holds only those imported so far."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.lazy) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            importlib.import_module(f"bot.cli.{self.lazy[cmd_name]}")
            if cmd_name not in self.commands:
                raise RuntimeError(f"bot.cli.{self.lazy[cmd_name]} does not define the command {cmd_name!r}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS)
@click.option("--config", "config_path", envvar=CONFIG_ENV, type=click.Path(dir_okay=False), hidden=True,
              help="Config file, for every command (also accepted after the command name).")
@click.option("-v", "--verbose", is_flag=True, help="Log more (INFO and DEBUG lines on stderr).")
@click.version_option(package_name="campaign-bot")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """campaign-bot: posts urgent-action calls to action on schedule, and the thanks when a case closes."""
    ctx.obj = {"config_path": config_path}
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbose:
        logging.getLogger("bot").setLevel(logging.DEBUG)  # ours in full; libraries at INFO
    # The scheduler's own lines are chatter (a job run every tick) or a tick skipped while the previous one still
    # runs, which is harmless by design (jobs coalesce); a job's error is still logged, at ERROR.
    logging.getLogger("apscheduler").setLevel(logging.WARNING if verbose else logging.ERROR)
    # httpx logs every request's URL at INFO, and a Telegram bot's URL holds its token (a Graph GET its
    # access_token): never at INFO, whatever --verbose says.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def main() -> None:
    cli(prog_name="campaign-bot")
