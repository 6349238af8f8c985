"""The planner: expands each active campaign's schedule into delivery rows over a rolling horizon (the files'
definitions are stored first by bot/actions/files.py; bot/worker/plan.py runs both under the planner's lock).

Re-planning is idempotent: every row has a unique plan key (campaign, rule, local slot, account, language),
unsent rows are updated when a file changes, and sent ones are never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.accounts.directory import AccountLookup, account_languages
from bot.clock import Clock
from bot.config import Config
from bot.networks.registry import measured
from bot.outbox import workers
from bot.outbox.new import NO_MEDIA, Made, NewDelivery, new_delivery, planned_calls
from bot.outbox.staff import REVIVABLE
from bot.outbox.tables import CAMPAIGNS
from bot.states import CampaignState, ErrorKind, Kind, Status
from bot.store.db import big_cache
from bot.store.models import DeliveryRow

if TYPE_CHECKING:
    from bot.campaigns.loader import Issue, LoadedCampaign
    from bot.campaigns.schedule import SlotCache

log = logging.getLogger(__name__)


class Planning(Protocol):
    """What planning needs: the database, the clock, the accounts (to render a post per account) and the
    horizon (config.bot.horizon_days)."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def accounts(self) -> AccountLookup: ...

    @property
    def config(self) -> Config: ...


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


def last_variants(session: Session, campaign_id: str, before: datetime) -> dict[tuple[str, str], int]:
    """The variant each (account, language) used last before ``before``, so rotation carries on from it."""
    stmt = (
        select(DeliveryRow.account_id, DeliveryRow.language, DeliveryRow.variant, DeliveryRow.due_at)
        .where(DeliveryRow.campaign_id == campaign_id, DeliveryRow.kind == Kind.CALL_TO_ACTION,
               DeliveryRow.due_at < before,
               DeliveryRow.status.in_((Status.PLANNED, Status.SENDING, Status.SENT, Status.UNKNOWN)))
        .order_by(DeliveryRow.due_at)
    )
    last: dict[tuple[str, str], int] = {}
    for account_id, language, variant, _ in session.execute(stmt):
        if variant is not None:
            last[(account_id, language)] = variant
    return last


def desired_rows(accounts: AccountLookup, loaded: LoadedCampaign, start: datetime, end: datetime, now: datetime,
                 last_variants: dict[tuple[str, str], int], slot_cache: SlotCache | None = None) -> list[NewDelivery]:
    """The rows a campaign's schedule asks for with slots in [start, end), rendered once per variant.
    ``slot_cache``: one plan's expanded schedules, shared by campaigns with the same rules, zone and window."""
    # Imported here: a worker whose files did not change plans nothing (bot/planning/scan.py), and its restart
    # need not load the campaign schema, the schedule's expansion, the templates and Jinja2.
    from bot.campaigns.deadlines import calls_to_action
    from bot.campaigns.schedule import campaign_slots
    from bot.campaigns.schema import aware_in
    from bot.campaigns.templates import render
    from bot.planning.rows import media_for

    model = loaded.model
    variants = model.messages.call_to_action
    # Calls to action stop at `act_by`, and rules may follow the days left (bot/campaigns/deadlines.py).
    slots = calls_to_action(model, campaign_slots(model, start, end, slot_cache))
    dated = model.act_by is not None  # `days_left` differs per day: render per slot date
    # Text, length and media once per variant, language, network (and day): a row shares them (never mutated).
    cache: dict[tuple[int, str, str, date | None], Made] = {}
    rows: list[NewDelivery] = []
    zone = model.zone()
    count = len(variants)
    # Each slot's part of the plan key, its time and rule, and its local date where the text depends on it.
    slot_keys = [f"{loaded.id}|{slot.rule_id}|{slot.local_key}|" for slot in slots]
    slot_times = [(slot.at, slot.rule_id) for slot in slots]
    days = [slot.at.astimezone(zone).date() for slot in slots] if dated else [None] * len(slots)

    def made(variant: int, lang: str, network: str, day: date | None) -> Made:
        key = (variant, lang, network, day)
        found = cache.get(key)
        if found is None:
            text = render(variants[variant], model, loaded.targets, lang, network, day)
            found = cache[key] = (text, measured(network, text), media_for(variants[variant], loaded, lang) or NO_MEDIA)
        return found

    for index, account_id in enumerate(model.accounts):
        view = accounts.view(account_id)
        if view is None:
            continue
        network = view.network
        for lang in account_languages(view, model.languages):
            # Accounts start at different variants, so supporters don't see the same text from all of them.
            previous = last_variants.get((account_id, lang), index - 1)
            chosen = [(previous + 1 + k) % count for k in range(len(slots))]
            if dated:
                texts = [made(v, lang, network, day) for v, day in zip(chosen, days, strict=True)]
            else:  # one text per variant: rendered once, looked up per row
                by_variant = {v: made(v, lang, network, None) for v in set(chosen)}
                texts = [by_variant[v] for v in chosen]
            tail = f"{account_id}|{lang}"
            rows += planned_calls(loaded.id, account_id, network, lang, now, [k + tail for k in slot_keys],
                                    slot_times, chosen, texts)
            for update_msg in model.messages.update:
                if update_msg.at is None:
                    continue
                at = aware_in(update_msg.at, model.timezone)
                if not start <= at < end:
                    continue
                text = render(update_msg, model, loaded.targets, lang, view.network, at)
                rows.append(new_delivery(
                    plan_key=f"{loaded.id}|update:{update_msg.id}|{account_id}|{lang}", campaign_id=loaded.id,
                    account_id=account_id, network=view.network, kind=Kind.UPDATE, rule_id=f"update:{update_msg.id}",
                    language=lang, text=text, due_at=at, now=now, media=media_for(update_msg, loaded, lang),
                    reply_in_thread=True, text_length=measured(view.network, text)))
    return rows


def _max_jitter(loaded: LoadedCampaign) -> timedelta:
    return timedelta(minutes=max((r.jitter_minutes for r in loaded.model.schedule), default=0))


HORIZON_SLACK = timedelta(days=1)
INSERT_BATCH = 10_000
"""New rows are inserted this many at a time, whichever campaigns they belong to: one executemany (or COPY) per
campaign cost a statement's overhead and a round trip for every 85 rows; far more at once would hold a whole first
plan's rows in memory."""
_COMPARED = ("text", "due_at", "language", "variant", "media", "network", "reply_in_thread", "text_length",
             "length_for")
"""A planned row whose text (or network) changes gets the new text's length with it; a row from before its length
was stored (migration 0020) gets it at the next re-plan of its campaign."""


def plan_campaign(session: Session, deps: Planning, loaded: LoadedCampaign, row_: Any, now: datetime,
                  report: PlanReport, slot_cache: SlotCache | None = None) -> tuple[list[NewDelivery], datetime | None]:
    """Bring the campaign's planned rows in line with its schedule (``row_``: its campaign row's planning
    columns, _PLANNING). Returns the new rows, for the caller to insert with other campaigns' (one insert per many
    campaigns: a first plan inserts tens of thousands), and the time it is now planned through (None: unchanged),
    for the caller to store with the definition's hash."""
    horizon_end = now + timedelta(days=deps.config.bot.horizon_days)
    digest = row_.definition_hash
    if row_.planned_hash == digest and row_.planned_until and row_.planned_until >= horizon_end:
        report.skipped += 1
        return [], None
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
    wanted = desired_rows(deps.accounts, loaded, start_slots, horizon_end, now, previous, slot_cache)
    wanted_by_key = {w.plan_key: w for w in wanted}
    existing = {} if never_planned else _planned_rows(session, loaded.id, start_slots - jitter)
    inserts, revived, changes, unscheduled = [], [], [], []
    for key, w in wanted_by_key.items():
        d = existing.get(key)
        if d is None:
            if w.due_at >= earliest:
                inserts.append(w)
            continue
        status = d.status
        if status == Status.CANCELLED and d.error_kind in REVIVABLE and w.due_at >= now:
            revived.append(d.id)  # cancelled by a close or a schedule edit, and wanted again
            status = Status.PLANNED
        if status != Status.PLANNED or d.error_kind == ErrorKind.IN_DOUBT:
            continue  # sent, sending, failed, in doubt...: history is never rewritten
        changed = {f: getattr(w, f) for f in _COMPARED if getattr(d, f) != getattr(w, f)}
        if changed:
            changes.append({"id": d.id, **changed})
    if not incremental:
        unscheduled = [d.id for key, d in existing.items()
                       if key not in wanted_by_key and d.status == Status.PLANNED and d.due_at >= now]
    # Every write is the outbox's (bot/outbox/staff.py).
    conn = session.connection()
    outbox.revive(conn, revived, now)
    outbox.update_planned(conn, changes, now)
    report.updated += len(set(revived) | {c["id"] for c in changes})
    if unscheduled:  # cancelled, but what may have gone out already (in doubt) is read back: cancel_unsent
        # leaves it, also one that fell in doubt since it was read here; the flag that follows takes it
        report.cancelled += outbox.cancel_unsent(conn, loaded.id, now, "no longer in the campaign's schedule",
                                                 error_kind=ErrorKind.UNSCHEDULED, ids=unscheduled)
        workers.flag_in_doubt(conn, loaded.id, now, "no longer in the campaign's schedule while this post was in "
                                                   "doubt: reading the account back", ids=unscheduled)
    return inserts, horizon_end


def _planned_rows(session: Session, campaign_id: str, since: datetime) -> dict[str, Any]:
    """The campaign's rows from its schedule and updates due from ``since``, by plan key (Core rows: the
    outbox writes them, so nothing here is an ORM object that could drift from it)."""
    d = DeliveryRow
    stmt = select(d.id, d.plan_key, d.status, d.error_kind, *(getattr(d, f) for f in _COMPARED)).where(
        d.campaign_id == campaign_id, d.rule_id.is_not(None), d.due_at >= since)
    return {r.plan_key: r for r in session.execute(stmt)}


_C = CAMPAIGNS.c
_PLANNING = select(_C.id, _C.state, _C.definition_hash, _C.planned_hash, _C.planned_until, _C.grace_seconds)
"""What planning reads of each campaign's row."""
_PLANNED = (update(CAMPAIGNS).where(_C.id == bindparam("cid"))
            .values(planned_hash=bindparam("hash"), planned_until=bindparam("until")))
"""A campaign planned through a time, for the definition of this hash (one executemany for all)."""


def plan_campaigns(deps: Planning, effective: dict[str, LoadedCampaign], report: PlanReport) -> PlanReport:
    """Plan every active campaign of ``effective`` (the definitions the database holds, stored by
    bot/actions/files.py). The caller holds the planner's lock (bot/worker/plan.py)."""
    report.campaigns = effective
    now = deps.clock.now()
    with deps.sessions.begin() as session, big_cache(session.connection()):
        pending: list[NewDelivery] = []
        slot_cache: SlotCache = {}  # this plan's: its window starts at `now`
        # One query, not one each; Core rows (a thousand ORM objects, and their flush, cost more than the rest
        # of a campaign's planning but its rows).
        campaign_rows = {r.id: r for r in session.execute(_PLANNING)}
        planned: list[dict[str, Any]] = []
        for cid, loaded in effective.items():
            row_ = campaign_rows.get(cid)
            if row_ is None or row_.state != CampaignState.ACTIVE:
                continue
            rows, until = plan_campaign(session, deps, loaded, row_, now, report, slot_cache)
            pending.extend(rows)
            if until is not None:
                planned.append({"cid": cid, "hash": row_.definition_hash, "until": until})
            if len(pending) >= INSERT_BATCH:
                report.inserted += outbox.insert_planned(session.connection(), pending)
                pending = []
        report.inserted += outbox.insert_planned(session.connection(), pending)
        if planned:
            session.connection().execute(_PLANNED, planned)
    if report.inserted or report.updated or report.cancelled:
        log.info("planned: %d new, %d updated, %d cancelled", report.inserted, report.updated, report.cancelled)
    return report
