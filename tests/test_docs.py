"""The README and config.example.toml are part of the product: they must match the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import click
import pytest

from bot.cli import cli
from bot.config import BotSettings, load_config
from bot.networks.registry import ADAPTERS, network_class

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
EXAMPLE = REPO / "config.example.toml"


def test_every_key_in_the_example_config_is_a_known_setting():
    config = load_config(EXAMPLE)  # unknown keys are errors
    assert set(config.accounts) == {"org_mastodon", "org_x", "org_bluesky", "preview"}


def test_every_setting_is_documented_in_the_example_and_the_readme():
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in BotSettings.model_fields:
        assert re.search(rf"^#? ?{name} = ", text, re.M), f"[bot] {name} missing from config.example.toml"
        assert f"`{name}`" in README, f"[bot] {name} missing from README"
    for kind in ADAPTERS:
        for name in network_class(kind).settings_model.model_fields:
            assert re.search(rf"^#? ?{name} = ", text, re.M), f"{kind} account key {name} missing from the example"


def test_the_example_config_shows_all_three_networks():
    accounts = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))["accounts"]
    assert {a["network"] for a in accounts.values()} >= {"mastodon", "x", "bluesky"}


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
