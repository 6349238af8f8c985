"""The planner: keeps the campaigns table in step with the files, and expands each active campaign's
schedule into delivery rows over a rolling horizon.

Re-planning is idempotent: every row has a unique plan key (campaign, rule, local slot, account, language),
unsent rows are updated when a file changes, and sent ones are never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.accounts.directory import account_languages
from bot.actions import lifecycle
from bot.campaigns.deadlines import calls_to_action
from bot.campaigns.loader import Issue, LoadedCampaign, LoadResult
from bot.campaigns.schedule import campaign_slots
from bot.campaigns.schema import aware_in
from bot.campaigns.templates import render
from bot.outbox.staff import REVIVABLE
from bot.planning.rows import CALL_TO_ACTION, CANCELLED, PLANNED, SENDING, SENT, UNKNOWN, UPDATE, media_for, row
from bot.states import ErrorKind
from bot.store import audit
from bot.store.locks import PLAN_LOCK, advisory_lock
from bot.store.models import CampaignRow, DeliveryRow

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)
FILE_ACTOR = "campaign file"


@dataclass
class PlanReport:
    inserted: int = 0
    updated: int = 0
    cancelled: int = 0
    skipped: int = 0
    busy: bool = False
    """Nothing was planned: another process held the planner's lock (a worker planning, or the web app or a
    command storing the campaign files)."""
    issues: list[Issue] = field(default_factory=list)
    campaigns: dict[str, LoadedCampaign] = field(default_factory=dict)


def _apply_file_status(session: Session, app: App, row: CampaignRow, loaded: LoadedCampaign, now: datetime) -> None:
    """A change of `status` in the file acts like the matching command; the database stays the authority."""
    wanted = loaded.model.status
    if wanted == row.file_status:
        return
    row.file_status = wanted
    if wanted == "closed" and row.state != "closed":
        lifecycle.close_in(session, app, row.id, loaded.model.outcome or "no_further_action", now, FILE_ACTOR,
                           "status set to closed in the campaign file")
    elif wanted == "paused" and row.state == "active":
        lifecycle.set_state_in(session, row.id, "pause", now, FILE_ACTOR, "status set to paused in the file")
    elif wanted == "active" and row.state == "paused":
        lifecycle.set_state_in(session, row.id, "resume", now, FILE_ACTOR, "status set to active in the file")
    elif wanted == "active" and row.state == "closed":
        lifecycle.set_state_in(session, row.id, "reopen", now, FILE_ACTOR, "status set to active in the file")


def sync_definitions(app: App, result: LoadResult) -> dict[str, LoadedCampaign]:
    """Store each valid file's definition; return every campaign the database knows, last good version for a
    file that no longer loads."""
    now = app.clock.now()
    effective: dict[str, LoadedCampaign] = {}
    with app.sessions.begin() as session:
        rows = {r.id: r for r in session.scalars(select(CampaignRow))}
        for cid, loaded in result.campaigns.items():
            digest = loaded.definition_hash()
            row_ = rows.get(cid)
            if row_ is None:
                initial = loaded.model.status
                row_ = CampaignRow(id=cid, title=loaded.model.title, state=initial, file_status=initial,
                                   outcome=loaded.model.outcome if initial == "closed" else None,
                                   definition=loaded.definition(), definition_hash=digest, close_seq=0,
                                   loaded_at=now, state_changed_at=now, state_changed_by=FILE_ACTOR,
                                   grace_seconds=int(loaded.model.grace_minutes * 60))
                session.add(row_)  # flushed with the others (no flush per row: a first plan adds a thousand)
                rows[cid] = row_
                audit.record(session, now, FILE_ACTOR, "load", cid, None, state=initial)
            elif row_.definition_hash != digest:
                row_.definition, row_.definition_hash, row_.title, row_.loaded_at = (
                    loaded.definition(), digest, loaded.model.title, now)
                row_.grace_seconds = int(loaded.model.grace_minutes * 60)
                audit.record(session, now, FILE_ACTOR, "reload", cid, None)
            _apply_file_status(session, app, row_, loaded, now)
        for cid, row_ in rows.items():
            if cid in result.campaigns:
                effective[cid] = result.campaigns[cid]
            else:
                try:
                    effective[cid] = LoadedCampaign.from_definition(cid, row_.definition)
                except ValueError as exc:  # an old definition the current schema rejects
                    log.error("campaign %s: stored definition no longer valid: %s", cid, exc)
    return effective


def last_variants(session: Session, campaign_id: str, before: datetime) -> dict[tuple[str, str], int]:
    """The variant each (account, language) used last before ``before``, so rotation carries on from it."""
    stmt = (
        select(DeliveryRow.account_id, DeliveryRow.language, DeliveryRow.variant, DeliveryRow.due_at)
        .where(DeliveryRow.campaign_id == campaign_id, DeliveryRow.kind == CALL_TO_ACTION,
               DeliveryRow.due_at < before, DeliveryRow.status.in_((PLANNED, SENDING, SENT, UNKNOWN)))
        .order_by(DeliveryRow.due_at)
    )
    last: dict[tuple[str, str], int] = {}
    for account_id, language, variant, _ in session.execute(stmt):
        if variant is not None:
            last[(account_id, language)] = variant
    return last


def desired_rows(app: App, loaded: LoadedCampaign, start: datetime, end: datetime, now: datetime,
                 last_variants: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    """The rows a campaign's schedule asks for with slots in [start, end), rendered once per variant."""
    model = loaded.model
    variants = model.messages.call_to_action
    # Calls to action stop at `act_by`, and rules may follow the days left (bot/campaigns/deadlines.py).
    slots = calls_to_action(model, campaign_slots(model, start, end))
    dated = model.act_by is not None  # `days_left` differs per day: render per slot date
    cache: dict[tuple[int, str, str, date | None], str] = {}
    rows: list[dict[str, Any]] = []
    for index, account_id in enumerate(model.accounts):
        view = app.account(account_id)
        if view is None:
            continue
        for lang in account_languages(view, model.languages):
            # Accounts start at different variants, so supporters don't see the same text from all of them.
            previous = last_variants.get((account_id, lang), index - 1)
            for k, slot in enumerate(slots):
                variant = (previous + 1 + k) % len(variants)
                day = slot.at.astimezone(model.zone()).date() if dated else None
                key = (variant, lang, view.network, day)
                if key not in cache:
                    cache[key] = render(variants[variant], model, loaded.targets, lang, view.network, day)
                rows.append(row(plan_key=f"{loaded.id}|{slot.rule_id}|{slot.local_key}|{account_id}|{lang}",
                                campaign_id=loaded.id, account_id=account_id, network=view.network,
                                kind=CALL_TO_ACTION, rule_id=slot.rule_id, language=lang, variant=variant,
                                text=cache[key], due_at=slot.at, now=now,
                                media=media_for(variants[variant], loaded, lang)))
            for update_msg in model.messages.update:
                if update_msg.at is None:
                    continue
                at = aware_in(update_msg.at, model.timezone)
                if not start <= at < end:
                    continue
                rows.append(row(plan_key=f"{loaded.id}|update:{update_msg.id}|{account_id}|{lang}",
                                campaign_id=loaded.id, account_id=account_id, network=view.network, kind=UPDATE,
                                rule_id=f"update:{update_msg.id}", language=lang,
                                text=render(update_msg, model, loaded.targets, lang, view.network, at),
                                due_at=at, now=now, media=media_for(update_msg, loaded, lang),
                                reply_in_thread=True))
    return rows


def _max_jitter(loaded: LoadedCampaign) -> timedelta:
    return timedelta(minutes=max((r.jitter_minutes for r in loaded.model.schedule), default=0))


HORIZON_SLACK = timedelta(days=1)
_COMPARED = ("text", "due_at", "language", "variant", "media", "network", "reply_in_thread")


def plan_campaign(session: Session, app: App, loaded: LoadedCampaign, row_: CampaignRow, now: datetime,
                  report: PlanReport) -> None:
    horizon_end = now + timedelta(days=app.config.bot.horizon_days)
    digest = row_.definition_hash
    if row_.planned_hash == digest and row_.planned_until and row_.planned_until >= horizon_end:
        report.skipped += 1
        return
    # Plan a day past the horizon, so that a campaign is extended once a day rather than at every run.
    horizon_end += HORIZON_SLACK
    jitter = _max_jitter(loaded)
    # A slot passed within the grace window (the daemon was down, or the file is new) is still sent.
    earliest = now - timedelta(seconds=row_.grace_seconds)
    incremental = row_.planned_hash == digest and row_.planned_until is not None and row_.planned_until > now
    start = row_.planned_until if incremental and row_.planned_until else earliest
    start_slots = start - jitter  # a slot before `start` may have been jittered to after it
    # Only the planner writes call-to-action rows and rows with a rule, and it sets planned_until when it
    # does: a campaign never planned has none, so its first plan needs no look at the table.
    never_planned = row_.planned_until is None
    previous = {} if never_planned else last_variants(session, loaded.id, start_slots)
    wanted = desired_rows(app, loaded, start_slots, horizon_end, now, previous)
    wanted_by_key = {w["plan_key"]: w for w in wanted}
    existing = {} if never_planned else _planned_rows(session, loaded.id, start_slots - jitter)
    inserts, revived, changes, unscheduled = [], [], [], []
    for key, w in wanted_by_key.items():
        d = existing.get(key)
        if d is None:
            if w["due_at"] >= earliest:
                inserts.append(w)
            continue
        status = d.status
        if status == CANCELLED and d.error_kind in REVIVABLE and w["due_at"] >= now:
            revived.append(d.id)  # cancelled by a close or a schedule edit, and wanted again
            status = PLANNED
        if status != PLANNED:
            continue  # sent, sending, failed...: history is never rewritten
        changed = {f: w[f] for f in _COMPARED if getattr(d, f) != w[f]}
        if changed:
            changes.append({"id": d.id, **changed})
    if not incremental:
        unscheduled = [d.id for key, d in existing.items()
                       if key not in wanted_by_key and d.status == PLANNED and d.due_at >= now]
    # Every write is the outbox's (bot/outbox/staff.py).
    conn = session.connection()
    outbox.revive(conn, revived, now)
    outbox.update_planned(conn, changes, now)
    report.updated += len(set(revived) | {c["id"] for c in changes})
    if unscheduled:
        report.cancelled += outbox.cancel_unsent(conn, loaded.id, now, "no longer in the campaign's schedule",
                                                 error_kind=ErrorKind.UNSCHEDULED, ids=unscheduled)
    report.inserted += outbox.insert_planned(conn, inserts)
    row_.planned_hash, row_.planned_until = digest, horizon_end


def _planned_rows(session: Session, campaign_id: str, since: datetime) -> dict[str, Any]:
    """The campaign's rows from its schedule and updates due from ``since``, by plan key (Core rows: the
    outbox writes them, so nothing here is an ORM object that could drift from it)."""
    d = DeliveryRow
    stmt = select(d.id, d.plan_key, d.status, d.error_kind, *(getattr(d, f) for f in _COMPARED)).where(
        d.campaign_id == campaign_id, d.rule_id.is_not(None), d.due_at >= since)
    return {r.plan_key: r for r in session.execute(stmt)}


def plan(app: App, result: LoadResult | None = None) -> PlanReport:
    """Load the files, store what changed, and plan every active campaign. Safe to run at any time; with
    several workers only one plans at a time (the others skip their turn)."""
    with advisory_lock(app.engine, PLAN_LOCK) as acquired:
        if not acquired:
            log.debug("another process is planning or storing the campaigns; skipping this turn")
            return PlanReport(busy=True)
        return _plan(app, result)


def _plan(app: App, result: LoadResult | None) -> PlanReport:
    result = result or app.load_campaigns(budgets=False)
    report = PlanReport(issues=list(result.issues))
    for issue in result.errors:
        log.error("%s", issue)
    effective = sync_definitions(app, result)
    report.campaigns = effective
    now = app.clock.now()
    with app.sessions.begin() as session:
        campaign_rows = {r.id: r for r in session.scalars(select(CampaignRow))}  # one query, not one each
        for cid, loaded in effective.items():
            row_ = campaign_rows.get(cid)
            if row_ is None or row_.state != "active":
                continue
            plan_campaign(session, app, loaded, row_, now, report)
    if report.inserted or report.updated or report.cancelled:
        log.info("planned: %d new, %d updated, %d cancelled", report.inserted, report.updated, report.cancelled)
    return report

