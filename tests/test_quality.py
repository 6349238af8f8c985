"""ruff, mypy --strict on bot/ and mypy on tests/ stay clean, bandit finds nothing unexplained, bot/ has no import
cycle and no module over 400 lines: CI fails otherwise."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shared

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 400


@pytest.mark.parametrize("tool", [["ruff", "check", "bot", "tests", "bench"], ["mypy", "--strict", "bot"],
                                  ["mypy", "tests"]], ids=["ruff", "mypy-strict-bot", "mypy-tests"])
def test_linters_pass(tool):
    exe = shutil.which(tool[0], path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip(f"{tool[0]} not installed")
    result = subprocess.run([exe, *tool[1:]], cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


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
