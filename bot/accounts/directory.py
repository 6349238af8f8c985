"""The account directory: the one place the engine asks about an account.

For an account id it answers which network the account renders for, its settings, languages, rate budget and
secrets, and builds the adapter that posts for it. Today's accounts come from config.toml; accounts stored in
the database (supporters, with encrypted tokens) will be added here behind the same questions: they bring
their own ``Secrets``.

Console mode (no config file, or --dry-run) is decided here and nowhere else: every account prints instead
of posting, and stands in for the network it would post to - the configured one, or with no config at all,
one guessed from the account id (``org_bluesky``) - so previews and checks use that network's handle,
variant and length rules. Nothing is published in console mode, so it has no budget and needs no secrets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.config.settings import Config
from bot.networks.base import AccountStore, Misconfigured, Network
from bot.networks.budgets import BudgetWindow, budget_for
from bot.networks.console.adapter import ConsoleNetwork
from bot.networks.registry import network_class
from bot.networks.secrets import EnvSecrets, Secrets, SecretUnreadable
from bot.networks.settings import AccountSettings

CONSOLE = "console"
_WORDS = {"x": "x", "twitter": "x", "mastodon": "mastodon", "bluesky": "bluesky", "bsky": "bluesky",
          "threads": "threads", "telegram": "telegram", "tg": "telegram", "facebook": "facebook", "fb": "facebook"}


@dataclass(frozen=True)
class AccountView:
    id: str
    network: str
    """The network whose text rules (handle, variant, length) apply. In console mode, the network the account
    stands in for (console when it is not known)."""
    languages: tuple[str, ...] | None
    console: bool = False
    """Posts are printed, not published (console mode, or a console account)."""
    guessed: bool = False
    """Console mode without a config: ``network`` was guessed from the account id."""


class AccountLookup(Protocol):
    """What rendering a post per account needs to know: which network an account renders for, and its
    languages (AccountDirectory answers it)."""

    def view(self, account_id: str) -> AccountView | None: ...


def guess_network(account_id: str) -> str | None:
    """The network a word in the id names (``org_bluesky``, ``x-es``, ``twitter_main``), if exactly one."""
    found = {_WORDS[w] for w in re.split(r"[^a-z0-9]+", account_id.lower()) if w in _WORDS}
    return found.pop() if len(found) == 1 else None


def resolve_account(config: Config, account_id: str) -> AccountView | None:
    """The account's view, or None when the config does not know it (and this is not console mode)."""
    return _view(account_id, config.accounts.get(account_id), console=config.console_fallback)


def _view(account_id: str, settings: AccountSettings | None, *, console: bool) -> AccountView | None:
    """The console fallback, written once: which network an account renders for, and whether it prints."""
    languages = tuple(settings.languages) if settings is not None and settings.languages else None
    if not console:
        if settings is None:
            return None
        return AccountView(account_id, settings.network, languages, console=settings.network == CONSOLE)
    if settings is not None:
        return AccountView(account_id, settings.network, languages, console=True)
    guess = guess_network(account_id)
    return AccountView(account_id, guess or CONSOLE, None, console=True, guessed=guess is not None)


def account_languages(view: AccountView, campaign_languages: list[str]) -> list[str]:
    if view.languages is None:
        return list(campaign_languages)
    return [lang for lang in campaign_languages if lang in view.languages]


class AccountDirectory:
    """Every account the engine may post for. Built once per process (bot.bootstrap.bootstrap); the secrets of
    every account are read when it is built, and what cannot be read is in ``problems``.

    ``accounts`` adds accounts that are not in the config, each with its own Secrets; ``lookup`` is asked
    about any other id when it is first used (supporters' accounts in the database, bot/supporters/accounts.py:
    they connect while the worker runs). A config account of the same id wins.
    """

    def __init__(self, config: Config, *, secrets: Callable[[str], Secrets] = EnvSecrets,
                 accounts: Mapping[str, tuple[AccountSettings, Secrets]] | None = None,
                 lookup: Callable[[str], tuple[AccountSettings, Secrets] | None] | None = None) -> None:
        self.config = config
        self._lookup = lookup
        self._found: dict[str, tuple[AccountSettings, Secrets]] = {}
        self._deferred: dict[Callable[[Any], tuple[AccountSettings, Secrets]], dict[str, Any]] = {}
        """Accounts read in a batch, not built yet: their rows, by the function that builds them (one or two)."""
        self._settings: dict[str, AccountSettings] = {a: s for a, (s, _) in (accounts or {}).items()}
        self._secrets: dict[str, Secrets] = {a: sec for a, (_, sec) in (accounts or {}).items()}
        for account_id, settings in config.accounts.items():
            self._settings[account_id] = settings
            self._secrets[account_id] = secrets(account_id)
        self.problems: tuple[str, ...] = () if self.console else tuple(self._problems())

    @property
    def console(self) -> bool:
        return self.config.console_fallback

    def ids(self) -> list[str]:
        """The accounts the directory knows by name (console mode also accepts any other id)."""
        return sorted(self._settings)

    def view(self, account_id: str) -> AccountView | None:
        return _view(account_id, self.settings(account_id), console=self.console)

    def settings(self, account_id: str) -> AccountSettings | None:
        known = self._settings.get(account_id)
        if known is not None or self._lookup is None:
            return known
        found = self._found.get(account_id)
        if found is None:
            found = self._build_deferred(account_id)
            if found is None:
                found = self._lookup(account_id)
            if found is None:
                return None
            self._found[account_id] = found
        return found[0]

    def known(self, account_id: str) -> bool:
        """Whether the account is in the config or was found already (no lookup)."""
        return (account_id in self._settings or account_id in self._found
                or any(account_id in rows for rows in self._deferred.values()))

    def remember(self, found: Mapping[str, tuple[AccountSettings, Secrets]]) -> None:
        """Accounts from outside the config read in one batch (a supporters' wave), so that sending for them
        needs no lookup, and no second database connection, per account."""
        self._found.update(found)

    def remember_lazily(self, rows: Mapping[str, Any], build: Callable[[Any], tuple[AccountSettings, Secrets]]) -> int:
        """As ``remember``, for accounts read in one batch whose settings are built when each is first used, by
        ``build`` from its row: a wave of 100,000 supporters read up front builds none of them then (validating
        one's settings takes about 30 us), and each one's when it boosts, as a lookup would, without its query.
        Accounts it knows already are left as they are. Returns how many were new."""
        new = rows.keys() - self._settings.keys() - self._found.keys()
        for waiting in self._deferred.values():
            new -= waiting.keys()
        deferred = self._deferred.setdefault(build, {})
        if len(new) == len(rows):  # none known (the usual case): no lookup per row
            deferred.update(rows)
        else:
            deferred.update((account_id, rows[account_id]) for account_id in new)
        return len(new)

    def _build_deferred(self, account_id: str) -> tuple[AccountSettings, Secrets] | None:
        for build, rows in list(self._deferred.items()):
            row = rows.pop(account_id, None)
            if row is not None:
                return build(row)
        return None

    def budget(self, account_id: str) -> tuple[BudgetWindow, ...]:
        """The rate budget windows; none in console mode (nothing is published) or for an unknown account."""
        settings = self.settings(account_id)
        if settings is None or self.console:
            return ()
        return budget_for(settings)

    def secrets(self, account_id: str) -> Secrets:
        if account_id not in self._secrets and self.settings(account_id) is not None and account_id in self._found:
            return self._found[account_id][1]
        return self._secrets.get(account_id) or EnvSecrets(account_id)

    def network(self, account_id: str, store: AccountStore) -> Network:
        """A new adapter for the account: the console stands in for it in console mode."""
        view = self.view(account_id)
        settings = self.settings(account_id)
        if view is None or (settings is None and not view.console):
            raise Misconfigured(f"account {account_id} is not in the config (no [accounts.{account_id}] in "
                                f"{self.config.path}); its posts wait until it is added back")
        if view.console:
            return ConsoleNetwork(account_id, settings or AccountSettings(network=CONSOLE), store,
                                  stands_in=view.network)
        assert settings is not None
        secrets = self.secrets(account_id)
        wrap = getattr(secrets, "wrap_store", None)  # accounts from outside the config may encrypt their state
        return network_class(settings.network)(account_id, settings, wrap(store) if wrap else store, secrets)

    def stand_ins(self, account_ids: Iterable[str]) -> list[str]:
        """One line per account for console mode's banner: which network each one previews as."""
        lines = []
        for account_id in sorted(set(account_ids)):
            view = self.view(account_id)
            if view is None:
                continue
            if view.network == CONSOLE:
                lines.append(f"{account_id}: plain console, 500 characters (no network known; an id naming one, "
                             f"e.g. {account_id}_bluesky, previews as that network)")
            elif view.guessed:
                lines.append(f"{account_id}: stands in for {view.network} (guessed from the account id)")
            else:
                lines.append(f"{account_id}: stands in for {view.network} (from the config)")
        return lines

    def _problems(self) -> Iterable[str]:
        for account_id, settings in sorted(self._settings.items()):
            missing = []
            for name in settings.secret_names():
                try:
                    self._secrets[account_id].read(name)
                except SecretUnreadable as exc:
                    missing.append(str(exc).removeprefix(f"account {account_id}: "))
            if missing:
                yield f"account {account_id} ({settings.network}): {'; '.join(missing)}"
