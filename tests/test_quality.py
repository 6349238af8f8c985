"""ruff and mypy stay clean: CI fails otherwise."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("tool", [["ruff", "check", "bot", "tests", "bench"], ["mypy", "bot"]], ids=["ruff", "mypy"])
def test_linters_pass(tool):
    exe = shutil.which(tool[0], path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip(f"{tool[0]} not installed")
    result = subprocess.run([exe, *tool[1:]], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
