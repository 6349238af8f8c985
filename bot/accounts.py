"""Which network an account renders for, and which languages it posts in."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Config


@dataclass(frozen=True)
class AccountView:
    id: str
    network: str
    """The network whose text rules (length, mentions, variants) apply; console when unconfigured."""
    languages: tuple[str, ...] | None


def resolve_account(config: Config, account_id: str) -> AccountView | None:
    settings = config.accounts.get(account_id)
    if settings is not None:
        langs = tuple(settings.languages) if settings.languages else None
        return AccountView(account_id, settings.network, langs)
    if config.console_fallback:
        return AccountView(account_id, "console", None)
    return None


def account_languages(view: AccountView, campaign_languages: list[str]) -> list[str]:
    if view.languages is None:
        return list(campaign_languages)
    return [lang for lang in campaign_languages if lang in view.languages]
