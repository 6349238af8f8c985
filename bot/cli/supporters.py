"""`campaign-bot supporters ...` and `campaign-bot secrets ...`: supporters who let the bot boost the
organisation's posts from their own Mastodon or Bluesky account, and the key their tokens are encrypted with.

A token is read once from the environment variable named on the command line (or the file named by
VAR_FILE), checked with the network, encrypted and stored; it is never printed.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import click

from bot.actions import supporters as act
from bot.bootstrap import App
from bot.campaigns.loader import campaign_files, did_you_mean
from bot.cli.base import actor, by_option, cli, config_option, friendly, json_option, make_app, print_json
from bot.errors import UserError
from bot.networks.base import NetworkError
from bot.networks.secrets import SecretUnreadable, read_secret
from bot.supporters import service
from bot.supporters.accounts import APP_PASSWORD, TOKEN, reach_of, verify
from bot.supporters.crypto import new_key, require_cipher


@cli.group()
def supporters() -> None:
    """Supporters whose Mastodon or Bluesky account boosts the organisation's posts."""


@supporters.command("add")
@config_option
@click.option("--network", type=click.Choice(service.NETWORKS), required=True, help="The supporter's network.")
@click.option("--name", required=True, help="A name to list and remove the supporter by.")
@click.option("--api-base-url", help="Mastodon: the supporter's instance, e.g. https://mastodon.social.")
@click.option("--access-token-env", help="Mastodon: the environment variable holding their access token "
                                         f"(scopes {service.SCOPES}).")
@click.option("--handle", help="Bluesky: the supporter's handle, e.g. name.bsky.social.")
@click.option("--app-password-env", help="Bluesky: the environment variable holding their app password.")
@click.option("--service-url", default="https://bsky.social", show_default=True, help="Bluesky: their PDS.")
@click.option("--campaign", "campaigns", multiple=True, help="Amplify only this campaign (repeat); default all.")
@by_option("adds them")
@click.pass_context
@friendly
def add(ctx: click.Context, config_path: str | None, network: str, name: str, api_base_url: str | None,
        access_token_env: str | None, handle: str | None, app_password_env: str | None, service_url: str,
        campaigns: tuple[str, ...], by: str) -> None:
    """Add a supporter with a token they made themselves (the web app's connect page does OAuth instead)."""
    app = make_app(ctx, config_path)
    if campaigns:
        _check_campaigns(app, campaigns)
    if network == "mastodon":
        if not api_base_url or not access_token_env:
            raise UserError("supporters add --network mastodon needs --api-base-url and --access-token-env")
        base, secret_name, env = api_base_url.rstrip("/"), TOKEN, access_token_env
    else:
        if not handle or not app_password_env:
            raise UserError("supporters add --network bluesky needs --handle and --app-password-env")
        base, secret_name, env = service_url.rstrip("/"), APP_PASSWORD, app_password_env
    try:
        credentials = {secret_name: read_secret(name, env)}
    except SecretUnreadable as exc:
        raise UserError(str(exc)) from None
    try:
        who = verify(network, base, handle.lstrip("@") if handle else None, credentials,
                     reach_of(app.config.amplify.local_servers))
    except NetworkError as exc:
        raise UserError(f"{network} did not accept the credentials in ${env}: {exc}") from None
    instance = urlsplit(base).netloc
    if network == "mastodon" and "@" not in who:
        who = f"{who}@{instance}"
    require_cipher()  # before the network is asked: a missing key is one line
    result, _ = act.connect(app, actor(app, by), network=network, name=name, credentials=credentials,
                            instance=instance, api_base_url=base, handle=who, campaigns=list(campaigns) or None)
    click.echo(result.message)


def _named(app: App, name: str) -> service.Supporter:
    with app.sessions() as session:
        found = service.by_name(session, name)
    if found is None:
        raise UserError(f"no supporter named {name!r} (see `campaign-bot supporters list`)")
    return found


def _check_campaigns(app: App, campaigns: tuple[str, ...]) -> None:
    """Refuse a campaign id neither in the database nor among the campaign files, in one line."""
    with app.sessions() as session:
        known = set(service.campaign_ids(session))
    known |= {p.stem for p in campaign_files(app.config.campaigns_dir)}
    unknown = [c for c in dict.fromkeys(campaigns) if c not in known]
    if unknown:
        raise UserError("supporters add: " + "; ".join(f"no campaign {c!r}{did_you_mean(c, known)}" for c in unknown)
                        + " (see `campaign-bot status`)")


@supporters.command("list")
@config_option
@json_option
@click.pass_context
@friendly
def list_(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """Every supporter: network, instance, state and the campaigns they amplify."""
    app = make_app(ctx, config_path)
    with app.sessions() as session:
        found = service.list_supporters(session)
    rows = [{"name": s.name, "network": s.network, "instance": s.instance, "handle": s.handle, "state": s.state,
             "campaigns": "all" if s.all_campaigns else list(s.campaigns), "account_id": s.account_id,
             "reason": s.disconnect_reason, "since": s.created_at.isoformat(timespec="seconds")} for s in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no supporters")
        return
    for s in found:
        campaigns = "all" if s.all_campaigns else ", ".join(s.campaigns) or "none"
        extra = f" ({s.disconnect_reason})" if s.disconnect_reason else ""
        click.echo(f"{s.name}  {s.network}  {s.instance or '-'}  {s.state}{extra}  campaigns: {campaigns}")


@supporters.command("remove")
@config_option
@click.argument("name")
@by_option("removes them")
@click.pass_context
@friendly
def remove(ctx: click.Context, config_path: str | None, name: str, by: str) -> None:
    """Disconnect a supporter now: their token and personal data are deleted, planned boosts cancelled."""
    app = make_app(ctx, config_path)
    found = _named(app, name)
    if not found.connected:
        click.echo(f"supporter {name} was already disconnected ({found.disconnect_reason or 'no reason kept'}); "
                   "nothing changed")
        return
    result = act.disconnect(app, actor(app, by), found.id, f"removed with the CLI by {by}")
    click.echo(f"supporter {name} disconnected; their token is deleted" if result.changed else result.message)


@supporters.command("undo")
@config_option
@click.argument("name")
@click.option("--campaign", help="Only the boosts of this campaign (default: all).")
@by_option("asks for it")
@click.pass_context
@friendly
def undo(ctx: click.Context, config_path: str | None, name: str, campaign: str | None, by: str) -> None:
    """Undo a supporter's boosts (unboost), when they ask; the worker sends the unboosts."""
    app = make_app(ctx, config_path)
    found = _named(app, name)
    if not found.connected:
        raise UserError(f"no connected supporter named {name!r}")
    click.echo(act.undo_boosts(app, actor(app, by), found.id, campaign).message)


@supporters.command("connect-url")
@config_option
@click.option("--network", type=click.Choice(["mastodon"]), required=True,
              help="The network (Mastodon; Bluesky supporters use the connect form on the campaign's page).")
@click.option("--instance", required=True, help="The supporter's instance, e.g. mastodon.social.")
@click.option("--base-url", help="The web app's public address (default: [amplify] public_url).")
@click.pass_context
@friendly
def connect_url(ctx: click.Context, config_path: str | None, network: str, instance: str,
                base_url: str | None) -> None:
    """The link a supporter opens to connect their account through OAuth on their instance."""
    from bot.cli.base import load

    base = base_url or load(ctx, config_path).amplify.public_url
    if not base:
        raise UserError("the web app's address is unknown: set [amplify] public_url in the config, or --base-url")
    host = urlsplit(instance).netloc or instance.strip().strip("/")
    click.echo(f"{base.rstrip('/')}/supporters/connect/{network}?instance={quote(host, safe='')}")


@cli.group()
def secrets() -> None:
    """The key supporters' tokens are encrypted with ($CAMPAIGN_BOT_SECRET_KEY: keys separated by commas)."""


@secrets.command("rotate")
@config_option
@click.pass_context
@friendly
def rotate(ctx: click.Context, config_path: str | None) -> None:
    """Re-encrypt every stored secret with the first key; then the old keys can be removed."""
    app = make_app(ctx, config_path)
    cipher = require_cipher()
    with app.sessions.begin() as session:
        count = service.rotate_secrets(session, cipher)
    click.echo(f"{count} secret(s) re-encrypted with the first of {cipher.key_count} key(s)")


@secrets.command("new-key")
def new_key_command() -> None:
    """Print a new key (put it first in $CAMPAIGN_BOT_SECRET_KEY; keep it out of the repository)."""
    click.echo(new_key())
