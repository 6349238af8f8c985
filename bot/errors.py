"""Errors a user can act on. The CLI prints them as one line, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in input the user controls (config, campaign file, command line)."""


class ConfigError(UserError):
    pass


class NotFound(UserError):
    pass


TOML_TOO_DEEP = "arrays or inline tables nested more than 400 deep"
"""A TOML file past tomli's bound on nesting (it raises RecursionError there): the campaign files' and the config's
one-line message."""
