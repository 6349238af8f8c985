"""The campaign files as the database knows them: each valid file's definition is stored (the last good version
runs on if the file breaks later), and a change of a file's `status` acts as the matching command would, by the
"campaign file" actor. The database stays the authority: a close from a person holds while the file still says
active. The planner, the CLI and the web app call this under the planner's lock."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, insert, select
from sqlalchemy.orm import Session, defer

from bot.accounts.directory import AccountLookup
from bot.actions.base import FILE_ACTOR, Context, action
from bot.actions.campaigns import close_in, set_state_in
from bot.campaigns.loader import Issue, LoadedCampaign, LoadResult
from bot.outbox.tables import CAMPAIGNS
from bot.planning import scan
from bot.states import Audit, CampaignState, Outcome
from bot.store import audit
from bot.store.models import CampaignRow, FileProblemRow
from bot.store.raw import Raw

log = logging.getLogger(__name__)

_NEW_FIELDS = ("id", "title", "state", "file_status", "outcome", "definition", "definition_hash", "close_seq",
               "loaded_at", "state_changed_at", "state_changed_by", "grace_seconds")
_INSERT = Raw(insert(CAMPAIGNS).values({
    **{name: bindparam(f"b_{name}") for name in _NEW_FIELDS},
    "definition": bindparam("b_definition", type_=Text),  # the JSON text LoadedCampaign.stored wrote
}))
"""New campaigns (a first plan stores a thousand): by COPY on PostgreSQL (bot/store/raw.py)."""


def _apply_file_status(session: Session, accounts: AccountLookup, row: CampaignRow, loaded: LoadedCampaign,
                       now: datetime) -> None:
    wanted = CampaignState(loaded.model.status)
    if wanted == row.file_status:
        return
    row.file_status = wanted
    by = FILE_ACTOR.name
    if wanted == CampaignState.CLOSED and row.state != CampaignState.CLOSED:
        outcome = Outcome(loaded.model.outcome or Outcome.NO_FURTHER_ACTION)
        close_in(session, accounts, row, outcome, now, by, "status set to closed in the campaign file")
    elif wanted == CampaignState.PAUSED and row.state == CampaignState.ACTIVE:
        set_state_in(session, row, Audit.PAUSE, now, by, "status set to paused in the file")
    elif wanted == CampaignState.ACTIVE and row.state == CampaignState.PAUSED:
        set_state_in(session, row, Audit.RESUME, now, by, "status set to active in the file")
    elif wanted == CampaignState.ACTIVE and row.state == CampaignState.CLOSED:
        set_state_in(session, row, Audit.REOPEN, now, by, "status set to active in the file")


def _problem_line(issue: Issue, path: str) -> str:
    where = issue.file[len(path):].lstrip(":") if issue.file.startswith(path) else ""
    place = ", ".join(p for p in (f"line {where}" if where else "", issue.field) if p)
    return f"{place}: {issue.message}" if place else issue.message


def _record_problems(session: Session, result: LoadResult, now: datetime) -> None:
    """Keep what is wrong with each file that did not load where the web app reads it; forget a file once it
    loads again (or is gone)."""
    known = {r.campaign_id: r for r in session.scalars(select(FileProblemRow))}
    for cid, gone in known.items():
        if cid not in result.problems:
            session.delete(gone)
    for cid, (path, issues) in result.problems.items():
        lines = [_problem_line(i, path) for i in issues] or ["the file did not load"]
        row = known.get(cid)
        if row is None:
            session.add(FileProblemRow(campaign_id=cid, path=path, problems=lines, since=now, checked_at=now))
            continue
        if row.problems != lines or row.path != path:
            row.problems, row.path, row.since = lines, path, now
        row.checked_at = now


@action
def sync_files(ctx: Context, result: LoadResult) -> dict[str, LoadedCampaign]:
    """Store each valid file's definition; return every campaign the database knows, the last good version for
    a file that no longer loads."""
    now = ctx.clock.now()
    effective: dict[str, LoadedCampaign] = {}
    by = FILE_ACTOR.name
    with ctx.sessions.begin() as session:
        scan.forget(session.connection())  # the planner records its own load again once it has planned
        _record_problems(session, result, now)
        # Each row's definition (a JSON document) is read only where it is needed: a file gone from disk.
        rows = {r.id: r for r in session.scalars(select(CampaignRow).options(defer(CampaignRow.definition)))}
        new: list[tuple[Any, ...]] = []  # a first plan adds a thousand: one statement for all, not ORM objects
        loads: list[tuple[str, str | None, dict[str, Any]]] = []
        for cid, loaded in result.campaigns.items():
            row = rows.get(cid)
            if row is None:
                definition, digest = loaded.stored()
                initial = CampaignState(loaded.model.status)
                new.append((cid, loaded.model.main_title, initial, initial,
                            loaded.model.outcome if initial == CampaignState.CLOSED else None, definition, digest,
                            0, now, now, by, int(loaded.model.grace_minutes * 60)))
                loads.append((cid, None, {"state": str(initial)}))
                continue  # new: its file's status is its state
            digest = loaded.definition_hash()
            if loaded.model.status != row.file_status:  # it will act: on the row as it is now, locked (a
                session.refresh(row, with_for_update=True)  # person's close may have landed since it was read)
            if row.definition_hash != digest:
                row.definition, row.definition_hash, row.title, row.loaded_at = (
                    loaded.definition(), digest, loaded.model.main_title, now)
                row.grace_seconds = int(loaded.model.grace_minutes * 60)
                audit.record(session, now, by, Audit.RELOAD, cid, None)
            _apply_file_status(session, ctx.accounts, row, loaded, now)
        if new:
            _INSERT.executemany(session.connection(), _NEW_FIELDS, new, copy_into=CAMPAIGNS.name)
            audit.record_many(session, now, by, Audit.LOAD, loads)
        for cid in [*rows, *(n[0] for n in new)]:
            if cid in result.campaigns:
                effective[cid] = result.campaigns[cid]
            else:
                try:
                    effective[cid] = LoadedCampaign.from_definition(cid, rows[cid].definition)
                except ValueError as exc:  # an old definition the current schema rejects
                    log.error("campaign %s: stored definition no longer valid: %s", cid, exc)
    return effective
