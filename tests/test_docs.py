"""The README and config.example.toml are part of the product: they must match the code."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import click
import pytest

from bot.cli import cli
from bot.config.settings import BotSettings, load_config
from bot.networks.registry import ADAPTERS, network_class

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
EXAMPLE = REPO / "config.example.toml"


def test_every_key_in_the_example_config_is_a_known_setting():
    config = load_config(EXAMPLE)  # unknown keys are errors
    assert set(config.accounts) == {"org_mastodon", "org_x", "org_bluesky", "org_threads", "org_telegram",
                                    "org_facebook", "preview"}


def test_every_setting_is_documented_in_the_example_and_the_readme():
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in BotSettings.model_fields:
        assert re.search(rf"^#? ?{name} = ", text, re.M), f"[bot] {name} missing from config.example.toml"
        assert f"`{name}`" in README, f"[bot] {name} missing from README"
    for kind in ADAPTERS:
        for name in network_class(kind).settings_model.model_fields:
            assert re.search(rf"^#? ?{name} = ", text, re.M), f"{kind} account key {name} missing from the example"


def test_the_example_config_shows_every_network():
    accounts = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))["accounts"]
    assert {a["network"] for a in accounts.values()} == set(ADAPTERS)


def test_every_share_setting_is_in_the_example():
    from bot.config.settings import ShareSettings

    text = EXAMPLE.read_text(encoding="utf-8")
    for name in ShareSettings.model_fields:
        assert re.search(rf"^#? ?{name} = ", text, re.M), f"[share] {name} missing from config.example.toml"


def test_every_organisation_setting_is_in_the_example_and_the_readme():
    from bot.config.settings import OrganisationSettings

    text = EXAMPLE.read_text(encoding="utf-8")
    for name in OrganisationSettings.model_fields:
        assert re.search(rf"^#? ?{name} = ", text, re.M), f"[organisation] {name} missing from config.example.toml"
        assert f"`{name}`" in README, f"[organisation] {name} missing from README"


def commands_in_readme() -> list[list[str]]:
    found = []
    for match in re.finditer(r"(?:^|`|\.venv/bin/)campaign-bot ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)", README, re.M):
        found.append(match.group(1).split())
    return found


@pytest.mark.parametrize("words", commands_in_readme(), ids=" ".join)
def test_every_command_the_readme_shows_exists(words):
    command: click.Command = cli
    for word in words:
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(click.Context(command), word)
        if sub is None and command is not cli:
            break  # a positional argument, like the campaign id
        assert sub is not None, f"`campaign-bot {' '.join(words)}` in the README is not a command"
        command = sub


def test_ci_runs_exactly_the_readmes_test_command():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    test_command = next(b for b in blocks if "pytest" in b)
    assert test_command in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    run_command = blocks[0]
    assert "campaign-bot run" in run_command and "pip install -e ." in run_command


def _walk(command: click.Command, path: str = "campaign-bot"):
    yield path, command
    if isinstance(command, click.Group):  # through click's interface: the top-level group loads lazily
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{path} {name} is listed but not found"
            yield from _walk(sub, f"{path} {name}")


def test_every_command_and_option_has_help_text():
    missing = []
    for path, command in _walk(cli):
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"{path} {param.opts[0]}")
    assert missing == []


def test_the_readme_documents_exactly_the_exit_codes_the_cli_uses():
    from bot.cli import EXIT_CODES

    section = README[README.index("Exit codes:"):]
    documented = {int(code) for code in re.findall(r"^\| (\d) \|", section, re.M)}
    assert documented == set(EXIT_CODES)


def test_the_cli_exits_0_on_success_1_on_a_user_error_and_2_on_a_bad_command_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import EXIT_CODES

    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    codes = {runner.invoke(cli, args).exit_code for args in (["validate"], ["plan", "--days", "1"])}
    codes |= {runner.invoke(cli, args).exit_code for args in (["history", "no-such-campaign"],
                                                              ["queue", "x", "--at", "never", "--text", "t"])}
    codes |= {runner.invoke(cli, args).exit_code for args in (["plan", "--days", "0"], ["no-such-command"])}
    assert codes == set(EXIT_CODES) == {0, 1, 2}


def walk_through_blocks() -> list[str]:
    walk = README[README.index("## A walk through"):README.index("## Campaign files")]
    return re.findall(r"```sh\n(.*?)\n```", walk, re.S)


def test_the_walk_through_activates_the_venv_the_quick_start_made():
    quick_start = re.findall(r"```sh\n(.*?)\n```", README, re.S)[0]
    assert "python3 -m venv .venv" in quick_start
    for block in walk_through_blocks():
        assert block.splitlines()[0] == ". .venv/bin/activate"


def test_the_walk_through_commands_work_as_written(tmp_path, monkeypatch):
    import shlex

    from click.testing import CliRunner

    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    monkeypatch.chdir(tmp_path)
    for block in walk_through_blocks():
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if not words or words[0] != "campaign-bot" or words[1] == "run":
                continue  # the activation; the daemon (tested in test_daemon.py)
            result = CliRunner().invoke(cli, words[1:])
            assert result.exit_code == 0, (line, result.output)
