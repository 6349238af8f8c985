"""Everything a full load of the campaign files depends on, as one digest, so that a worker that starts again
can tell, with one stat per file, that loading them would find what the last load found (bot/worker/plan.py).

The digest covers each campaign file's name, mtime and size, its folder's targets.toml, whether each image the
campaigns name is a file, the accounts as configured (network, languages, budgets and the names of their
secrets, never a secret), console mode, and the code that loads and checks them (every module of the bot
package: a new version checks anew)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.campaigns.folder import TARGETS_FILE, campaign_files
from bot.config.settings import Config

if TYPE_CHECKING:
    from bot.campaigns.loader import LoadedCampaign

FORMAT = "1"
"""Changes when what the digest covers changes."""

PACKAGE = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The bot package's modules as this process loaded them (names, mtimes, sizes): once per process."""
    digest = hashlib.sha256()
    for folder, dirs, names in os.walk(PACKAGE):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                digest.update(f"{os.path.relpath(os.path.join(folder, name), PACKAGE)}\0{st.st_mtime_ns}\0"
                              f"{st.st_size}\n".encode())
    return digest.hexdigest()


def _stat(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}"


def images_of(campaigns: Iterable[LoadedCampaign]) -> list[str]:
    """The images the campaigns name, as the checks look for them (relative to each campaign's folder)."""
    from bot.campaigns.texts import messages  # after a full load only: a restart's digest needs no schema

    found = {str(c.base_dir / m.image.path) for c in campaigns for _, m in messages(c.model) if m.image is not None}
    return sorted(found)


def files_digest(config: Config) -> str:
    """The digest of what a load of ``config``'s campaigns folder depends on, but for the images (taken before
    the load, so that a file written during it reads as changed next time)."""
    directory = config.campaigns_dir
    digest = hashlib.sha256(f"{FORMAT}\0{code_fingerprint()}\0{config.console_fallback}\0"
                            f"{directory.resolve()}\n".encode())
    for account_id in sorted(config.accounts):
        digest.update(f"{account_id}\0{config.accounts[account_id].model_dump_json()}\n".encode())
    digest.update(f"{TARGETS_FILE}\0{_stat(str(directory / TARGETS_FILE))}\n".encode())
    for path in campaign_files(directory):
        digest.update(f"{path.name}\0{_stat(str(path))}\n".encode())
    return digest.hexdigest()


def with_images(files: str, images: Iterable[str]) -> str:
    """``files_digest`` and whether each image the last load found named is a file (the checks ask that)."""
    digest = hashlib.sha256(files.encode())
    for image in images:
        digest.update(f"\n{image}\0{os.path.isfile(image)}".encode())
    return digest.hexdigest()
