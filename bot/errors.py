"""Errors a user can act on. The CLI prints them as one line, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in input the user controls (config, campaign file, command line)."""


class ConfigError(UserError):
    pass


class NotFound(UserError):
    pass
