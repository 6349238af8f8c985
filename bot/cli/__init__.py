"""The command line. Thin: each command builds the app with bootstrap() and calls one function.

A user's mistake is one line on stderr and exit status 1, never a traceback; a command line click cannot
parse is exit status 2 (see EXIT_CODES). Each command's module is imported when that command is used
(bot/cli/base.py COMMANDS).
"""

from bot.cli.base import EXIT_CODES, cli, main

__all__ = ["EXIT_CODES", "cli", "main"]
