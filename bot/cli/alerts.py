"""`campaign-bot alerts test`, and the lines `status` prints about alert destinations that keep failing."""

from __future__ import annotations

import sys
from typing import Any

import click

from bot.alerts.runner import send_test
from bot.cli.base import EXIT_ERROR, cli, config_option, friendly, load
from bot.cli.fmt import echo
from bot.errors import UserError


@cli.group("alerts")
def alerts() -> None:
    """Alerts to people ([[alerts]] in the config): try each destination."""


@alerts.command("test")
@config_option
@click.pass_context
@friendly
def test_cmd(ctx: click.Context, config_path: str | None) -> None:
    """Send a test message to every [[alerts]] destination and say which worked (exit 1 if any failed). Shows each
    destination by its name, $VARIABLE or scheme and host: never the URL, which may hold credentials."""
    config = load(ctx, config_path)
    if not config.alerts:
        raise UserError(f"{config.path or 'config'}: no [[alerts]] destination to test (see config.example.toml)")
    if warning := config.alerts_settings.missing_address:
        click.echo(click.style(f"warning: {warning}", fg="yellow"), err=True)
    failed = 0
    for destination in config.alerts:
        error = send_test(destination)
        if error is None:
            echo(f"ok      {destination.label}", fg="green")
        else:
            failed += 1
            echo(f"FAILED  {destination.label}: {error}", fg="red")
    if failed:
        click.echo(f"{failed} of {len(config.alerts)} destination(s) failed", err=True)
        sys.exit(EXIT_ERROR)


def alert_failures(failing: list[dict[str, Any]]) -> None:
    """For `status`: each destination that keeps failing, with its last error (already free of secrets)."""
    for f in failing:
        echo(f"ALERTS to {f['destination']} keep failing ({f['waiting']} waiting, {f['failed']} given up): "
             f"{f['error']}", fg="red")
