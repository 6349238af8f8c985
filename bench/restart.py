"""Ours, started as a new process by bench/peer.py: only what `campaign-bot run` imports before its first send
(not the naive bot's APScheduler job store)."""

from __future__ import annotations

from pathlib import Path


def ours_start(cfg: str) -> None:
    """What `campaign-bot run` does before its first send: bootstrap, plan, read the next due time."""
    from bot.bootstrap import bootstrap
    from bot.config.settings import load_config
    from bot.worker.dispatch import Dispatcher
    from bot.worker.plan import plan

    app = bootstrap(load_config(Path(cfg)))
    plan(app)
    Dispatcher(app).next_due_at()
