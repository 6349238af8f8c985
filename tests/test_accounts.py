"""The account directory: one place for an account's network, budget and secrets, and console mode's stand-ins."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.accounts.directory import AccountDirectory, guess_network
from bot.bootstrap import bootstrap
from bot.cli import cli
from bot.config.settings import load_config
from bot.networks.base import Misconfigured, Post
from bot.networks.console.adapter import ConsoleNetwork
from tests.conftest import REPO, campaign_toml

ACCOUNTS = """
[accounts.org_mastodon]
network = "mastodon"
api_base_url = "https://mastodon.example"
access_token_env = "T_MASTODON_TOKEN"

[accounts.org_x]
network = "x"
consumer_key_env = "T_X_CK"
consumer_secret_env = "T_X_CS"
access_token_env = "T_X_AT"
access_token_secret_env = "T_X_ATS"

[accounts.org_bluesky]
network = "bluesky"
handle = "org.bsky.social"
app_password_env = "T_BSKY_PASSWORD"
"""
SECRETS = ("T_MASTODON_TOKEN", "T_X_CK", "T_X_CS", "T_X_AT", "T_X_ATS", "T_BSKY_PASSWORD")


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in SECRETS:
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    (tmp_path / "campaigns").mkdir()
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\ndatabase_url = "sqlite:///{tmp_path}/bot.db"\ncampaigns_dir = "campaigns"\n' + ACCOUNTS)
    return cfg


def test_the_directory_names_each_account_whose_secrets_cannot_be_read_once_with_its_variables(config_file,
                                                                                                monkeypatch):
    monkeypatch.delenv("T_X_CK")
    monkeypatch.delenv("T_X_ATS")
    monkeypatch.delenv("T_BSKY_PASSWORD")
    monkeypatch.setenv("T_BSKY_PASSWORD_FILE", str(config_file.parent / "gone"))
    problems = AccountDirectory(load_config(config_file)).problems
    assert problems == (
        "account org_bluesky (bluesky): cannot read $T_BSKY_PASSWORD_FILE "
        f"({config_file.parent / 'gone'}): No such file or directory",
        "account org_x (x): environment variable $T_X_CK (or $T_X_CK_FILE) is not set; "
        "environment variable $T_X_ATS (or $T_X_ATS_FILE) is not set",
    )
    assert "placeholder" not in " ".join(problems)


def test_run_and_accounts_check_refuse_to_start_with_one_line_per_misconfigured_account(config_file, monkeypatch):
    monkeypatch.delenv("T_MASTODON_TOKEN")
    monkeypatch.delenv("T_X_CS")
    for command in (["run"], ["accounts", "check"]):
        result = CliRunner().invoke(cli, [*command, "--config", str(config_file)])
        assert result.exit_code == 1, result.output
        assert result.output.splitlines() == [
            "error: account org_mastodon (mastodon): environment variable $T_MASTODON_TOKEN "
            "(or $T_MASTODON_TOKEN_FILE) is not set",
            "error: account org_x (x): environment variable $T_X_CS (or $T_X_CS_FILE) is not set",
        ]
        assert "Traceback" not in result.output


def test_validate_reports_an_unreadable_secret_as_an_error(config_file, monkeypatch):
    monkeypatch.delenv("T_BSKY_PASSWORD")
    result = CliRunner().invoke(cli, ["validate", "--config", str(config_file)])
    assert result.exit_code == 1
    assert (f"{config_file}: account org_bluesky (bluesky): environment variable $T_BSKY_PASSWORD "
            "(or $T_BSKY_PASSWORD_FILE) is not set") in result.output


def test_a_dry_run_stands_in_for_the_configured_network_with_its_rules_and_no_budget(config_file, monkeypatch):
    monkeypatch.delenv("T_BSKY_PASSWORD")  # a dry run publishes nothing, so it needs no secret
    app = bootstrap(load_config(config_file, dry_run=True))
    try:
        assert app.accounts.problems == ()
        view = app.account("org_bluesky")
        assert view is not None and (view.network, view.console, view.guessed) == ("bluesky", True, False)
        net = app.network("org_bluesky")
        assert isinstance(net, ConsoleNetwork)
        assert net.limit() == 300 and net.length("👍🏽" * 3) == 3  # Bluesky's graphemes, not 500 characters
        assert app.network("org_x").length("の" * 10) == 20  # X's weighted length
        assert app.accounts.budget("org_x") == ()
        net.stream = io.StringIO()
        net.publish(Post(1, "k", "Act now", "en"))
        assert "org_bluesky · en · as bluesky (7/300)" in net.stream.getvalue()
        assert app.accounts.stand_ins(["org_bluesky"]) == ["org_bluesky: stands in for bluesky (from the config)"]
    finally:
        app.engine.dispose()


def test_with_no_config_the_network_is_guessed_from_a_word_in_the_account_id():
    assert guess_network("org_bluesky") == "bluesky"
    assert guess_network("amnesty-bsky") == "bluesky"
    assert guess_network("org_x") == "x"
    assert guess_network("Twitter_ES") == "x"
    assert guess_network("peru.mastodon") == "mastodon"
    assert guess_network("xandia") is None  # a word, not a letter in a word
    assert guess_network("org_x_bluesky") is None  # two networks named: not a guess
    assert (guess_network("org_threads"), guess_network("org_telegram"), guess_network("org_facebook")) == (
        "threads", "telegram", "facebook")
    assert (guess_network("amnesty-tg"), guess_network("fb-page")) == ("telegram", "facebook")


def test_with_no_config_the_banner_says_which_network_each_account_stands_in_for_and_that_it_was_guessed(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAMPAIGN_BOT_CONFIG", raising=False)
    directory = AccountDirectory(load_config(None))
    assert directory.stand_ins(["org_bluesky", "org"]) == [
        "org: plain console, 500 characters (no network known; an id naming one, e.g. org_bluesky, previews as "
        "that network)",
        "org_bluesky: stands in for bluesky (guessed from the account id)",
    ]
    view = directory.view("org_bluesky")
    assert view is not None and (view.network, view.guessed) == ("bluesky", True)


def test_with_no_config_validate_holds_a_bluesky_account_to_bluesky_limits(tmp_path, monkeypatch):
    from bot.campaigns.validate import load_campaigns

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAMPAIGN_BOT_CONFIG", raising=False)
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "targets.toml").write_text('[t]\nname = "Ministry"\nx = "@Ministry"\n'
                                                         'bluesky = "ministry.bsky.social"\n')
    text = "Write {{ targets[0].mention }} " + "now " * 80  # 350 characters: fine for the console, not Bluesky
    (tmp_path / "campaigns" / "c.toml").write_text(campaign_toml(
        accounts='accounts = ["org_bluesky"]', targets='targets = ["t"]', languages='languages = ["en"]',
        ask='ask = { en = "Act" }',
        messages=f'[[messages.call_to_action]]\ntext = {{ en = "{text}" }}\n'
                 '[[messages.call_to_action]]\ntext = { en = "two" }\n'
                 '[messages.closing.success]\ntext = { en = "thanks" }\n'
                 '[messages.closing.no_further_action]\ntext = { en = "thanks" }\n'))
    result = load_campaigns(load_config(None), datetime(2026, 11, 30, tzinfo=UTC))
    errors = [str(i) for i in result.errors]
    assert any("(en, bluesky)" in e and "limit of 300" in e for e in errors), errors


def test_an_account_missing_from_the_config_is_misconfigured_never_printed_to_the_console(config_file):
    app = bootstrap(load_config(config_file))
    try:
        assert app.account("gone") is None
        with pytest.raises(Misconfigured, match=r"account gone is not in the config"):
            app.network("gone")
    finally:
        app.engine.dispose()


def test_starting_the_cli_and_measuring_texts_imports_no_network_client_library():
    probe = (
        "import sys\n"
        "import importlib, bot.cli, bot.bootstrap, bot.campaigns.validate, bot.queries.reports\n"
        "for module in set(bot.cli.base.COMMANDS.values()):\n"  # every command's module, as --help loads them
        "    importlib.import_module(f'bot.cli.{module}')\n"
        "from bot.networks.registry import ADAPTERS, network_class\n"
        "for kind in ADAPTERS:\n"
        "    cls = network_class(kind)\n"
        "    cls.measure('Act now https://example.org 👍🏽'); cls.text_problem('Act now')\n"
        "print(' '.join(sorted(m for m in ('tweepy', 'mastodon', 'atproto', 'atproto_client') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120,
                         check=True)
    assert out.stdout.strip() == ""


def test_with_no_config_a_bluesky_account_previews_with_its_bluesky_handle_not_the_x_one(tmp_path, monkeypatch):
    from sqlalchemy import select

    from bot.clock import FakeClock
    from bot.store.models import DeliveryRow
    from bot.worker.plan import plan

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAMPAIGN_BOT_CONFIG", raising=False)
    monkeypatch.setenv("CAMPAIGN_BOT_DATABASE_URL", f"sqlite:///{tmp_path}/preview.db")
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "targets.toml").write_text('[t]\nname = "Ministry"\nx = "@Ministry"\n'
                                                         'bluesky = "ministry.bsky.social"\n')
    (tmp_path / "campaigns" / "c.toml").write_text(campaign_toml(
        accounts='accounts = ["org_bluesky", "org_x"]', targets='targets = ["t"]'))
    app = bootstrap(load_config(None), clock=FakeClock(datetime(2026, 11, 30, 13, tzinfo=UTC)))
    try:
        plan(app)
        with app.sessions() as s:
            rows = s.execute(select(DeliveryRow.account_id, DeliveryRow.network, DeliveryRow.text)
                             .where(DeliveryRow.text.like("CTA one%"))).all()
        networks = {(account, network) for account, network, _ in rows}
        assert networks == {("org_bluesky", "bluesky"), ("org_x", "x")}
        assert all("ministry.bsky.social" in text for account, _, text in rows if account == "org_bluesky")
        assert all("@Ministry" in text for account, _, text in rows if account == "org_x")
    finally:
        app.engine.dispose()


class StoredSecrets:
    """Secrets as a database account will bring them (decrypted tokens), not from the environment."""

    def __init__(self, **values: str) -> None:
        self.values = values

    def read(self, name: str) -> str:
        from bot.networks.secrets import SecretUnreadable

        if name not in self.values:
            raise SecretUnreadable(f"no stored token {name!r}")
        return self.values[name]


def test_an_account_from_outside_the_config_brings_its_own_secrets_to_its_adapter(config_file):
    from bot.networks.base import MemoryStore
    from bot.networks.mastodon.adapter import MastodonSettings

    settings = MastodonSettings(network="mastodon", api_base_url="https://m.example", access_token_env="token")
    directory = AccountDirectory(load_config(config_file), accounts={
        "supporter": (settings, StoredSecrets(token="t0k")),
        "lapsed": (settings, StoredSecrets()),
    })
    assert directory.ids() == ["lapsed", "org_bluesky", "org_mastodon", "org_x", "supporter"]
    assert directory.problems == ("account lapsed (mastodon): no stored token 'token'",)
    net = directory.network("supporter", MemoryStore())
    assert net.secret("token") == "t0k"
    assert [w.posts for w in directory.budget("supporter")] == [300]
