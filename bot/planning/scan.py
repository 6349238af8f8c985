"""The planner's record of its last full load of the campaign files (bot/store/models.py PlanScanRow), and the
question a worker asks before loading them: would a load and a plan change nothing?

Yes when the files, the images they name, the accounts and the code give the digest recorded (one stat per
file: bot/campaigns/fingerprint.py), the record is under an hour old (checks that depend on the day, such as
a rule that no longer posts, are made again at least that often), and every active campaign is planned
through the horizon from its stored definition. A worker that restarts then reaches its first tick without
reading, parsing or checking a single file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, delete, func, insert, or_, select, update

from bot.campaigns.folder import Issue
from bot.states import CampaignState
from bot.store.models import CampaignRow, PlanScanRow

FRESH = timedelta(hours=1)
"""How long a record stands in for a full load."""


@dataclass(frozen=True)
class Scan:
    digest: str
    images: list[str]
    issues: list[Issue]
    scanned_at: datetime


SCANS = PlanScanRow.__table__.c
CAMPAIGNS = CampaignRow.__table__.c
"""The tables' columns, not the mapped classes': a restart's two questions are plain SQL, and the first ORM
statement of a process configures every mapper (about 20 ms a restart need not pay before its first post)."""


def read(conn: Connection) -> Scan | None:
    s = SCANS
    row = conn.execute(select(s.digest, s.images, s.issues, s.scanned_at).where(s.id == 1)).first()
    if row is None or row.digest is None or row.scanned_at is None:
        return None
    return Scan(row.digest, list(row.images), [Issue(*i) for i in row.issues], row.scanned_at)


def fresh(scan: Scan, now: datetime) -> bool:
    return scan.scanned_at <= now < scan.scanned_at + FRESH


def planned_through(conn: Connection, end: datetime) -> int | None:
    """How many campaigns are active when every one is planned through ``end`` from its stored definition
    (the planner would skip each); None when one is not."""
    c = CAMPAIGNS
    stale = or_(c.planned_hash.is_(None), c.planned_hash != c.definition_hash, c.planned_until.is_(None),
                c.planned_until < end)
    active, waiting = conn.execute(select(func.count(), func.coalesce(func.sum(case((stale, 1), else_=0)), 0))
                                   .where(c.state == CampaignState.ACTIVE)).one()
    return None if waiting else int(active)


def record(conn: Connection, digest: str, images: Iterable[str], issues: Iterable[Issue], now: datetime) -> None:
    conn.execute(delete(PlanScanRow))
    conn.execute(insert(PlanScanRow).values(
        id=1, digest=digest, images=list(images), scanned_at=now,
        issues=[[i.file, i.field, i.message, i.severity] for i in issues]))


def forget(conn: Connection) -> None:
    """The definitions stored may no longer be what the record's load found: the next plan loads the files."""
    conn.execute(update(PlanScanRow).values(digest=None))
