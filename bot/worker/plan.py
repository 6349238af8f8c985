"""The plan job: under the planner's lock, store what the campaign files say (bot/actions/files.py: a file's
status acts as the matching command) and expand every active campaign's schedule (bot/planning/planner.py).

When nothing a load depends on changed since the planner's last full load, and every active campaign is planned
through the horizon, the files are not read at all (bot/planning/scan.py): a worker that restarts stats each file
once and reads two rows before its first tick.

Commands that change state without a worker running store the files the same way (``store_files``), waiting
for the lock, so the database knows the campaigns on disk before they act."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine

from bot.campaigns.fingerprint import files_digest, images_of, with_images
from bot.planning import scan
from bot.planning.collector import collector_paused
from bot.planning.planner import Planning, PlanReport, plan_campaigns
from bot.store.locks import PLAN_LOCK, advisory_lock

if TYPE_CHECKING:  # imported when the files are read: a restart with unchanged files reads none
    from bot.campaigns.loader import LoadedCampaign, LoadResult

log = logging.getLogger(__name__)


class PlanDeps(Planning, Protocol):
    @property
    def engine(self) -> Engine: ...

    def load_campaigns(self, paths: list[Path] | None = None, *, budgets: bool = True) -> LoadResult: ...


def plan(deps: PlanDeps, result: LoadResult | None = None) -> PlanReport:
    """Load the files, store what changed, and plan every active campaign. Safe to run at any time; with
    several workers only one plans at a time (the others skip their turn)."""
    with collector_paused(), advisory_lock(deps.engine, PLAN_LOCK) as acquired:
        if not acquired:
            log.debug("another process is planning or storing the campaigns; skipping this turn")
            return PlanReport(busy=True)
        if result is not None:
            return _plan(deps, result)
        with deps.engine.connect() as conn:
            last = scan.read(conn)
            files = files_digest(deps.config)  # before the load below reads any file
            if (last is not None and scan.fresh(last, deps.clock.now())
                    and last.digest == with_images(files, last.images)):
                end = deps.clock.now() + timedelta(days=deps.config.bot.horizon_days)
                active = scan.planned_through(conn, end)
                if active is not None:
                    return PlanReport(skipped=active, issues=list(last.issues))
        result = deps.load_campaigns(budgets=False)  # stats each file before reading it, as the digest did
        report = _plan(deps, result)
        if not result.errors:  # a file that did not load is loaded again at every plan, as before
            images = images_of(result.campaigns.values())
            with deps.engine.begin() as conn:
                scan.record(conn, with_images(files, images), images, result.issues, deps.clock.now())
        return report


def _plan(deps: PlanDeps, result: LoadResult) -> PlanReport:
    from bot.actions.files import sync_files

    report = PlanReport(issues=list(result.issues))
    for issue in result.errors:
        log.error("%s", issue)
    return plan_campaigns(deps, sync_files(deps, result), report)


def store_files(deps: PlanDeps) -> dict[str, LoadedCampaign]:
    """Make the database know the campaigns on disk (for the commands and pages that change state; they work
    without a worker). Waits while a worker's planner writes the same rows."""
    from bot.actions.files import sync_files

    result = deps.load_campaigns(budgets=False)
    with advisory_lock(deps.engine, PLAN_LOCK, wait=True):
        return sync_files(deps, result)
