"""The command line. Thin: each command builds the app with bootstrap() and calls one function.

A user's mistake is one line on stderr and exit status 1, never a traceback; a command line click cannot
parse is exit status 2 (see EXIT_CODES).
"""

from bot.cli import actions, admin, alerts, report, supporters, views
from bot.cli.base import EXIT_CODES, cli, main
from bot.cli.language import users_set_language
from bot.cli.web import register as _register_web
from bot.cli.web import users_group

_register_web(cli, admin.run)  # the web app's commands: web, users, tokens, run --web (bot/cli/web.py)
users_group.add_command(users_set_language)  # users set-language (bot/cli/language.py)

__all__ = ["EXIT_CODES", "actions", "admin", "alerts", "cli", "main", "report", "supporters", "views"]
