"""What a campaigns folder holds, by name, and a problem found in a file: what a worker that restarts needs to
tell that nothing changed (bot/campaigns/fingerprint.py, bot/planning/scan.py) without importing the loader, its
schema and its checks (bot/campaigns/loader.py, which re-exports these)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TARGETS_FILE = "targets.toml"
NOT_CAMPAIGNS = frozenset({TARGETS_FILE, "config.toml", "config.example.toml"})
"""TOML files that may sit in a campaigns folder and are not campaigns."""


@dataclass(frozen=True)
class Issue:
    file: str
    field: str
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}: " if self.field else f"{self.file}: "
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}{prefix}{self.message}"


def campaign_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    with os.scandir(directory) as entries:  # sorted by name (comparing Path objects costs more than reading them)
        names = sorted(e.name for e in entries if e.name.endswith(".toml") and e.name not in NOT_CAMPAIGNS)
    return [directory / name for name in names]
