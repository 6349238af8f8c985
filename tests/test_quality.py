"""ruff, mypy --strict on bot/ and mypy on tests/ stay clean (one run: pyproject.toml makes bot/ strict), bandit
finds nothing unexplained, bot/ has no import cycle and no module over 400 lines: CI fails otherwise."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import shared

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 400


@pytest.mark.parametrize("tool", [["ruff", "check", "bot", "tests", "bench"], ["mypy", "bot", "tests"]],
                         ids=["ruff", "mypy"])
def test_linters_pass(tool):
    exe = shutil.which(tool[0], path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip(f"{tool[0]} not installed")
    result = subprocess.run([exe, *tool[1:]], cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pyproject_makes_bot_as_strict_as_mypy_strict():
    """One mypy run checks bot/ and tests/ (their analyses of bot/ differ in options, so two runs did the work
    twice): bot/'s options in pyproject.toml must be every flag `--strict` turns on in the installed mypy."""
    exe = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("mypy not installed")
    usage = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    said = re.sub(r"-\s+", "-", usage.split("enables the following flags:")[1].split("--disable-error-code")[0])
    flags = re.findall(r"--([a-z-]+)", said)
    assert "disallow-untyped-defs" in flags, said
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    [bot] = [o for o in config["overrides"] if "bot.*" in o["module"]]
    for flag in flags:
        key = flag.replace("-", "_")
        wanted = not key.startswith("no_")
        key = key.removeprefix("no_")
        assert bot.get(key, config.get(key)) is wanted, f"pyproject.toml: bot/ needs {key} = {str(wanted).lower()}"


def test_bot_has_no_import_cycle_counting_every_import():
    """TYPE_CHECKING and in-function imports count too (the checker in ../shared/tools reads them all)."""
    checker = shared("tools/import_cycles.py")
    result = subprocess.run([sys.executable, str(checker), "bot"], cwd=REPO, capture_output=True, text=True,
                            timeout=120, check=False)
    assert "0 cycle(s)" in result.stdout, result.stdout + result.stderr
    assert " 0 modules" not in f" {result.stdout}", result.stdout  # it did read the package


def test_no_module_in_bot_is_over_400_lines():
    long = {str(p.relative_to(REPO)): n for p in (REPO / "bot").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split these modules: {long}"


def test_bandit_finds_nothing_unexplained_in_bot():
    """bandit (pyproject.toml [tool.bandit] says which tests are skipped and why; each `# nosec BXXX` says why
    on its line) reports no finding over bot/."""
    exe = shutil.which("bandit", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("bandit not installed (pip install -e '.[test]')")
    result = subprocess.run([exe, "-q", "-c", "pyproject.toml", "-r", "bot", "-f", "txt"], cwd=REPO,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No issues identified" in result.stdout or "Issue:" not in result.stdout
