"""Settings: config.toml's [bot], [accounts.ID], [amplify] (settings.py) and [[alerts]], [alerts_settings]
(alerts.py). Loading them imports no feature: every feature reads its part from here."""

from bot.config.settings import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    AmplifySettings,
    BotSettings,
    Config,
    load_config,
    parse_duration,
)

__all__ = ["CONFIG_ENV", "DATABASE_URL_ENV", "AmplifySettings", "BotSettings", "Config", "load_config",
           "parse_duration"]
