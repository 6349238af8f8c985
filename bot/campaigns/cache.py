"""What each campaign file gave last time (bot/campaigns/validate.py fills it), apart from the loader and its
checks: every App holds one from the start (bot/bootstrap.py), and a restart whose files did not change never
imports the loader's checks and templates (bot/planning/scan.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.campaigns.loader import Issue, LoadedCampaign


@dataclass
class LoadCache:
    """What each file gave last time, by (size, mtime) of the file and of its folder's targets.toml, so the
    daemon re-reads only what changed."""

    files: dict[Path, tuple[tuple[int, ...], LoadedCampaign | None, list[Issue]]] = field(default_factory=dict)
