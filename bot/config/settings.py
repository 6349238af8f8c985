"""Loading config.toml: the [bot] settings, the [accounts.ID] table, the [amplify], [share] and [organisation]
settings.

Secrets are never in the file: an account names the environment variable that holds each secret, and
``NAME_FILE`` (a path to a file holding it) is accepted too, for container secrets (read by
bot/networks/secrets.py; bot/accounts.py checks them when it builds the account directory).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.config.alerts import AlertSettings, Destination, parse_destinations, parse_settings
from bot.errors import TOML_TOO_DEEP, ConfigError
from bot.networks.settings import AccountSettings

CONFIG_ENV = "CAMPAIGN_BOT_CONFIG"
LOCAL_SERVERS_ENV = "CAMPAIGN_BOT_LOCAL_SERVERS"
DATABASE_URL_ENV = "CAMPAIGN_BOT_DATABASE_URL"
DEFAULT_CONFIG_FILE = "config.toml"


class BotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_url: str = "sqlite:///campaign-bot.db"
    campaigns_dir: str = "campaigns"
    horizon_days: int = Field(default=7, ge=1, le=366)
    plan_interval_minutes: float = Field(default=5, gt=0)
    poll_seconds: float = Field(default=2, gt=0)
    lease_seconds: int = Field(default=300, ge=5)
    max_attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=30, gt=0)
    retry_max_seconds: float = Field(default=3600, gt=0)
    concurrency: int = Field(default=8, ge=1, le=256)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$")


def parse_duration(value: str) -> float:
    """Seconds in "30m", "90s", "1h", "0s" (a bare number is seconds). Raises ValueError."""
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 30m, 90s or 1h")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "min": 60, "h": 3600}[unit]


class AmplifySettings(BaseModel):
    """Supporters' boosts of the organisation's posts (bot/supporters/)."""

    model_config = ConfigDict(extra="forbid")

    window: str = "30m"
    """Boosts of one post are spread at random over this long after it is published; "0s" means at once."""
    public_url: str | None = Field(default=None, pattern=r"^https?://")
    """The web app's public address: the OAuth callback supporters return to, and the links `supporters
    connect-url` prints. Connecting a Mastodon account needs it (the request's Host header never decides it)."""
    local_servers: bool = False
    """Development and tests only: supporters' servers may be on this machine (127.0.0.1, ::1). Otherwise every
    call to a server a supporter named must reach a public address (bot/networks/outbound.py). The environment
    variable CAMPAIGN_BOT_LOCAL_SERVERS=1 sets it too."""

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def window_seconds(self) -> int:
        return int(parse_duration(self.window))


class ShareSettings(BaseModel):
    """The share kit's links (bot/web/public.py): UTM parameters on the campaign's link, so the organisation's
    analytics and CRM see where the supporters who clicked came from."""

    model_config = ConfigDict(extra="forbid")

    utm: bool = False
    """Add utm_source, utm_medium and utm_campaign (the campaign's id) when a short link redirects."""
    utm_medium: str = Field(default="social", min_length=1, max_length=100)
    utm_source: dict[str, str] = Field(default_factory=dict)
    """utm_source per network (x, mastodon, bluesky, threads, telegram, facebook, whatsapp, linkedin); by default
    the network's name."""

    def params(self, network: str, campaign_id: str) -> list[tuple[str, str]]:
        """The UTM parameters for a click that came from ``network`` (none unless ``utm`` is on)."""
        if not self.utm:
            return []
        return [("utm_source", self.utm_source.get(network, network)), ("utm_medium", self.utm_medium),
                ("utm_campaign", campaign_id)]


LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
              ".webp": "image/webp", ".svg": "image/svg+xml"}


class OrganisationSettings(BaseModel):
    """Who runs the campaigns, as the share kit shows it: the name, and a logo beside it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    """The organisation's name, at the top of every campaign's share kit (none when empty)."""
    logo_url: str | None = Field(default=None, pattern=r"^https://[^\s\"'<>]+$")
    """The logo's https address; pages may load images from that server (Content-Security-Policy img-src)."""
    logo_file: str | None = None
    """Or a logo on this machine (PNG, JPEG, GIF, WebP or SVG), served by the web app at /organisation/logo.
    A missing file shows the name alone."""

    @field_validator("logo_file")
    @classmethod
    def _logo_type(cls, value: str | None) -> str | None:
        if value is not None and Path(value).suffix.lower() not in LOGO_TYPES:
            raise ValueError(f"a logo is a {', '.join(sorted(LOGO_TYPES))} file")
        return value

    @property
    def logo_origin(self) -> str | None:
        """The server the logo comes from (for the pages' Content-Security-Policy)."""
        if not self.logo_url:
            return None
        scheme, _, rest = self.logo_url.partition("://")
        return f"{scheme}://{rest.split('/')[0]}"


@dataclass
class Config:
    bot: BotSettings
    accounts: dict[str, AccountSettings]
    path: Path | None
    console_fallback: bool = False
    """True when there is no config file (or --dry-run): console mode. Only bot/accounts.py interprets it (which
    network each account stands in for, no budget, no secrets); everything else asks the account directory."""
    alerts: list[Destination] = field(default_factory=list)
    """The `[[alerts]]` destinations (bot/alerts/settings.py); their URLs may hold credentials: never print one."""
    alerts_settings: AlertSettings = field(default_factory=AlertSettings)

    amplify: AmplifySettings = field(default_factory=AmplifySettings)
    share: ShareSettings = field(default_factory=ShareSettings)
    organisation: OrganisationSettings = field(default_factory=OrganisationSettings)

    @property
    def campaigns_dir(self) -> Path:
        return Path(self.bot.campaigns_dir)


def _format_pydantic(where: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{where}{'.' + loc if loc else ''}: {msg}")
    return "; ".join(parts)


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path | None:
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        return p
    env = os.environ.get(CONFIG_ENV)
    if env:
        p = Path(env)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found (from ${CONFIG_ENV})")
        return p
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_config(path: str | os.PathLike[str] | None = None, *, dry_run: bool = False) -> Config:
    from bot.networks.registry import account_settings_model  # local: keeps config import light

    cfg_path = resolve_config_path(path)
    data: dict[str, Any] = {}
    if cfg_path is not None:
        try:
            data = tomli.loads(cfg_path.read_text(encoding="utf-8"))
        except tomli.TOMLDecodeError as exc:
            raise ConfigError(f"{cfg_path}: not valid TOML: {exc}") from None
        except RecursionError:  # tomli bounds nesting
            raise ConfigError(f"{cfg_path}: not valid TOML: {TOML_TOO_DEEP}") from None
        unknown = set(data) - {"bot", "accounts", "alerts", "alerts_settings", "amplify", "share", "organisation"}
        if unknown:
            raise ConfigError(f"{cfg_path}: unknown section(s) {', '.join(sorted(unknown))} "
                              "(known: bot, accounts, alerts, alerts_settings, amplify, share, organisation)")
    where = str(cfg_path) if cfg_path else "config"
    try:
        bot = BotSettings.model_validate(data.get("bot", {}))
    except ValidationError as exc:
        raise ConfigError(_format_pydantic(f"{where}: bot", exc)) from None
    try:
        amplify = AmplifySettings.model_validate(data.get("amplify", {}))
    except ValidationError as exc:
        raise ConfigError(_format_pydantic(f"{where}: amplify", exc)) from None
    try:
        share = ShareSettings.model_validate(data.get("share", {}))
    except ValidationError as exc:
        raise ConfigError(_format_pydantic(f"{where}: share", exc)) from None
    try:
        organisation = OrganisationSettings.model_validate(data.get("organisation", {}))
    except ValidationError as exc:
        raise ConfigError(_format_pydantic(f"{where}: organisation", exc)) from None
    if organisation.logo_file and cfg_path is not None and not Path(organisation.logo_file).is_absolute():
        organisation.logo_file = str(cfg_path.parent / organisation.logo_file)  # beside the config file
    env_url = os.environ.get(DATABASE_URL_ENV)
    if env_url:
        bot.database_url = env_url
    if os.environ.get(LOCAL_SERVERS_ENV, "").strip().lower() in ("1", "true", "yes"):
        amplify.local_servers = True

    accounts: dict[str, AccountSettings] = {}
    for account_id, raw in (data.get("accounts") or {}).items():
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: accounts.{account_id}: must be a table")
        kind = raw.get("network")
        if not kind:
            raise ConfigError(f"{where}: accounts.{account_id}.network: missing (console, mastodon, x, bluesky, "
                              "threads, telegram or facebook)")
        try:
            model = account_settings_model(str(kind))
        except KeyError as exc:
            raise ConfigError(f"{where}: accounts.{account_id}.network: {exc.args[0]}") from None
        try:
            accounts[account_id] = model.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(_format_pydantic(f"{where}: accounts.{account_id}", exc)) from None
    return Config(
        bot=bot,
        accounts=accounts,
        path=cfg_path,
        console_fallback=cfg_path is None or dry_run,
        alerts=[] if dry_run else parse_destinations(data.get("alerts"), where),  # a dry run tells nobody
        alerts_settings=_with_public_url(parse_settings(data.get("alerts_settings"), where), amplify),
        amplify=amplify,
        share=share,
        organisation=organisation,
    )


def _with_public_url(settings: AlertSettings, amplify: AmplifySettings) -> AlertSettings:
    """An alert links to the web app at `[alerts_settings] base_url`, else at `[amplify] public_url`: one address
    is enough to write down."""
    if settings.base_url is None and amplify.public_url:
        return replace(settings, base_url=amplify.public_url.rstrip("/"))
    return settings
