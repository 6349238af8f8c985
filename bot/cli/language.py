"""`users set-language`: the language a person reads the web app in (bot/web/i18n.py has the catalogues)."""

from __future__ import annotations

import click

from bot.actions import people
from bot.bootstrap import bootstrap
from bot.cli.base import actor, by_option, config_option, friendly, load
from bot.web.languages import catalogued

AUTO = "auto"


@click.command("set-language")
@config_option
@click.argument("name")
@click.argument("language", type=click.Choice([AUTO, *catalogued()]))
@by_option("changes it")
@click.pass_context
@friendly
def users_set_language(ctx: click.Context, config_path: str | None, name: str, language: str, by: str) -> None:
    """The language NAME reads the web app in; `auto` follows their browser (Accept-Language)."""
    core = bootstrap(load(ctx, config_path))
    click.echo(people.set_language(core, actor(core, by), name, None if language == AUTO else language,
                                   catalogued()).message)
