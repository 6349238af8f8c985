"""`campaign-bot validate` against a corpus of broken files, each with the message it must produce."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.campaigns.validate import load_campaigns
from bot.cli import cli
from bot.config.settings import load_config

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "corpus" / "broken"
CASES = sorted(p for p in CORPUS.glob("*.toml") if p.name != "targets.toml")
NOW = datetime(2026, 11, 30, 13, tzinfo=UTC)


@pytest.fixture
def config(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[accounts.a1]\nnetwork = "console"\n[accounts.a2]\nnetwork = "console"\n')
    return load_config(cfg)


def expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: ")
    return first[len("# expect: "):]


def test_the_corpus_covers_at_least_twenty_kinds_of_mistake():
    assert len(CASES) >= 20


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_each_broken_file_gets_its_message_naming_file_and_field(path, config):
    result = load_campaigns(config, NOW, [path])
    assert path.stem in result.failed
    lines = [str(i) for i in result.errors]
    assert any(expected(path) in line for line in lines), lines
    for line in lines:
        assert "\n" not in line and line.startswith(str(path))


def test_the_shipped_campaigns_are_valid_with_no_config(monkeypatch):
    monkeypatch.chdir(REPO)
    result = load_campaigns(load_config(None), NOW)
    assert result.errors == [] and "peru-children-humanitarian-status" in result.campaigns


def test_validate_prints_every_error_at_once_and_exits_1(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[accounts.a1]\nnetwork = "console"\n[accounts.a2]\nnetwork = "console"\n')
    paths = [str(CORPUS / "bad-timezone.toml"), str(CORPUS / "unknown-target.toml")]
    result = CliRunner().invoke(cli, ["validate", *paths])
    assert result.exit_code == 1
    assert "unknown timezone 'America/Lma'" in result.output
    assert "unknown target 'cancilleria'" in result.output
    assert "Traceback" not in result.output


def test_validate_exits_0_on_the_shipped_campaigns(monkeypatch):
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert "1 campaign(s) valid, 0 invalid, 0 error(s)" in result.output


def test_an_invalid_file_never_stops_the_others(tmp_path, config):
    import shutil

    folder = tmp_path / "campaigns"
    folder.mkdir()
    for name in ("targets.toml", "bad-timezone.toml", "not-toml.toml"):
        shutil.copy(CORPUS / name, folder / name)
    shutil.copy(REPO / "campaigns" / "peru-children-humanitarian-status.toml", folder / "peru.toml")
    config.bot.campaigns_dir = str(folder)
    from bot.config.settings import Config

    fallback = Config(bot=config.bot, accounts={}, path=None, console_fallback=True)
    result = load_campaigns(fallback, NOW)
    assert set(result.campaigns) == {"peru"}
    assert result.failed == {"bad-timezone", "not-toml"}


def test_the_shipped_campaigns_are_valid_with_the_example_config(monkeypatch):
    """Every network's limits (X weighted 280, Bluesky 300 graphemes, Mastodon 500) hold for the example."""
    monkeypatch.chdir(REPO)
    result = load_campaigns(load_config(REPO / "config.example.toml"), NOW)
    assert [str(i) for i in result.errors] == []


def test_a_config_nested_too_deep_is_one_line(tmp_path):
    """A few kB of brackets crashed Python's own TOML parser with a RecursionError (a traceback from `validate`,
    `run` or the web app); the config's mistake is one line naming the file, as any other."""
    from bot.errors import ConfigError

    cfg = tmp_path / "config.toml"
    cfg.write_text("[bot]\nx = " + "[" * 1000 + "]" * 1000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert str(info.value) == f"{cfg}: not valid TOML: arrays or inline tables nested more than 400 deep"


def test_validate_says_a_campaign_file_nested_too_deep_in_one_line(tmp_path, monkeypatch):
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "deep.toml").write_text((CORPUS / "nested-too-deep.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "not valid TOML: arrays or inline tables nested more than 400 deep" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, RecursionError)
