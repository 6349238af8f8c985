"""Read-only views the pages need beyond bot/reports.py: a campaign's whole timeline, the next post per
account, the last sent posts, the accounts and the audit log. Plain dicts, like the reports."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from bot.campaigns.deadlines import stored_deadline
from bot.outbox.budgets import remaining
from bot.outbox.tables import left_to_a_worker_row
from bot.queries.deps import ReadsAccounts
from bot.queries.previews import iso
from bot.queries.reports import delivery_dict
from bot.states import Action, CampaignState, ErrorKind, Kind, Status
from bot.store.models import AccountStateRow, AuditRow, CampaignRow, ControlRow, DeliveryRow
from bot.supporters.report import campaign_supporters

PAGE_SIZE = 25


def model_of(definition: dict[str, Any]) -> dict[str, Any]:
    """The campaign file's fields inside a stored definition (see LoadedCampaign.definition)."""
    model = definition.get("campaign")
    return model if isinstance(model, dict) else {}


def campaign_zone(definition: dict[str, Any]) -> str:
    return str(model_of(definition).get("timezone") or "UTC")


def local(value: datetime | None, zone: str) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


@dataclass(frozen=True)
class TimelineFilter:
    """Which of a campaign's posts the timeline shows, and which page of them (query parameters of the page)."""

    status: str | None = None
    account: str | None = None
    language: str | None = None
    page: int | None = None
    """None: the page where the coming posts start (or the one holding ``focus``)."""
    focus: int | None = None
    """A delivery whose page is shown (after a person changed it)."""
    size: int = PAGE_SIZE


def _day_only(raw: object) -> str | None:
    """A deadline given as a day (it ends with that day in the campaign's zone), as YYYY-MM-DD."""
    return raw if isinstance(raw, str) and len(raw) == 10 else None


def _shown_status(d: DeliveryRow, held: bool, now: datetime, disabled: Collection[str]) -> str:
    """What a person should read: a planned post is "held" while the emergency stop or a pause holds it, a post
    cancelled by a rejection is "rejected", and one whose outcome a worker is reading back is "being checked"
    (not yet a person's to settle)."""
    if d.status == Status.PLANNED and held:
        return "held"
    if left_to_a_worker_row(d, now, disabled):
        return "being_checked"
    if d.status == Status.CANCELLED and d.error_kind == ErrorKind.REJECTED:
        return "rejected"
    return str(d.status)


def campaign(app: ReadsAccounts, campaign_id: str, view: TimelineFilter | None = None) -> dict[str, Any] | None:
    """The campaign, its deadline, and one page of its timeline in due order (filtered by status, account,
    language): by default the page where the coming posts start."""
    view = view or TimelineFilter()
    now = app.clock.now()
    with app.sessions() as session:
        row = session.get(CampaignRow, campaign_id)
        if row is None:
            return None
        zone = campaign_zone(row.definition)
        where = [DeliveryRow.campaign_id == campaign_id, DeliveryRow.action == Action.POST]  # boosts: supporters
        if view.status:
            where.append(DeliveryRow.status == view.status)
        if view.account:
            where.append(DeliveryRow.account_id == view.account)
        if view.language:
            where.append(DeliveryRow.language == view.language)
        total = session.scalar(select(func.count()).select_from(DeliveryRow).where(*where)) or 0
        size = max(1, view.size)
        pages = max(1, -(-total // size))
        before = None
        if view.page is None and view.focus is not None:
            focus = session.get(DeliveryRow, view.focus)
            if focus is not None and focus.campaign_id == campaign_id:
                before = session.scalar(select(func.count()).select_from(DeliveryRow).where(
                    *where, or_(DeliveryRow.due_at < focus.due_at,
                                and_(DeliveryRow.due_at == focus.due_at, DeliveryRow.id < focus.id))))
        if view.page is None and before is None:
            before = session.scalar(select(func.count()).select_from(DeliveryRow).where(*where,
                                                                                       DeliveryRow.due_at < now))
        page = min(max(1, view.page if view.page is not None else (before or 0) // size + 1), pages)
        rows = list(session.scalars(select(DeliveryRow).where(*where).order_by(DeliveryRow.due_at, DeliveryRow.id)
                                    .offset((page - 1) * size).limit(size)))
        control = session.get(ControlRow, 1)
        supporters = campaign_supporters(session, campaign_id)
        disabled = set(session.scalars(select(AccountStateRow.account_id).where(AccountStateRow.disabled.is_(True))))
    held = bool(control and control.paused_all) or row.state == CampaignState.PAUSED
    timeline = []
    for d in rows:
        item = delivery_dict(d, zone)
        item["due_local"] = local(d.due_at, zone)
        item["approval_id"] = d.approval_id
        item["shown_status"] = _shown_status(d, held, now, disabled)
        item["cancel_asked_by"] = d.cancel_asked_by if d.status == Status.UNKNOWN else None
        timeline.append(item)
    act_by = stored_deadline(row.definition, zone)
    return {"id": row.id, "title": row.title, "state": row.state, "outcome": row.outcome, "zone": zone,
            "languages": list(model_of(row.definition).get("languages") or []),
            "accounts": list(model_of(row.definition).get("accounts") or []),
            "changed_by": row.state_changed_by, "note": row.state_note, "timeline": timeline,
            "act_by": iso(act_by), "deadline_passed": bool(act_by and act_by <= now),
            "act_by_day": _day_only(model_of(row.definition).get("act_by")),
            "page": page, "pages": pages, "total": total,
            "filter": {"status": view.status or "", "account": view.account or "", "language": view.language or ""},
            "statuses": [str(s) for s in Status], "supporters": supporters}


def latest_queued(app: ReadsAccounts, campaign_id: str, by: str) -> int | None:
    """The first row of the post ``by`` queued last in the campaign (the page shows the result beside it)."""
    with app.sessions() as session:
        key = session.scalar(select(DeliveryRow.plan_key).where(
            DeliveryRow.campaign_id == campaign_id, DeliveryRow.kind == Kind.QUEUED, DeliveryRow.queued_by == by)
            .order_by(DeliveryRow.id.desc()).limit(1))
        if key is None:
            return None
        prefix = "|".join(key.split("|")[:3]) + "|"  # campaign|queued|uuid: one queue's rows, one per account
        return session.scalar(select(func.min(DeliveryRow.id)).where(DeliveryRow.campaign_id == campaign_id,
                                                                     DeliveryRow.plan_key.startswith(prefix)))


def delivery(app: ReadsAccounts, delivery_id: int) -> dict[str, Any] | None:
    with app.sessions() as session:
        d = session.get(DeliveryRow, delivery_id)
        return None if d is None else delivery_dict(d)


def next_posts(app: ReadsAccounts) -> dict[str, list[dict[str, Any]]]:
    """Per campaign: the next planned post of each account."""
    out: dict[str, list[dict[str, Any]]] = {}
    with app.sessions() as session:
        zones = {r.id: campaign_zone(r.definition) for r in session.scalars(select(CampaignRow))}
        stmt = (select(DeliveryRow.campaign_id, DeliveryRow.account_id, func.min(DeliveryRow.due_at))
                .where(DeliveryRow.status == Status.PLANNED)
                .group_by(DeliveryRow.campaign_id, DeliveryRow.account_id)
                .order_by(DeliveryRow.campaign_id, DeliveryRow.account_id))
        for cid, account, due in session.execute(stmt):
            zone = zones.get(cid, "UTC")
            out.setdefault(cid, []).append({"account": account, "due_at": iso(due), "zone": zone})
    return out


def last_sent(app: ReadsAccounts, limit: int = 8) -> list[dict[str, Any]]:
    with app.sessions() as session:
        rows = session.scalars(select(DeliveryRow).where(DeliveryRow.status == Status.SENT)
                               .order_by(DeliveryRow.sent_at.desc(), DeliveryRow.id.desc()).limit(limit))
        return [delivery_dict(d) for d in rows]


def accounts(app: ReadsAccounts) -> list[dict[str, Any]]:
    """Every configured account (or one a campaign names) with its state and budget used."""
    now = app.clock.now()
    with app.sessions() as session:
        states = {a.account_id: a for a in session.scalars(select(AccountStateRow))}
        named: set[str] = set()
        for definition in session.scalars(select(CampaignRow.definition)):
            named.update(model_of(definition).get("accounts") or [])
        out = []
        for account_id in sorted(set(app.config.accounts) | named):
            settings = app.config.accounts.get(account_id)
            view = app.accounts.view(account_id)
            st = states.get(account_id)
            windows = app.accounts.budget(account_id)
            left, _hold = remaining(session.connection(), account_id, windows, now) if windows else (None, None)
            until, reason = None, None
            if view is None:
                word, reason = "misconfigured", "not in the config file"
            elif st is not None and st.disabled:
                word, reason = "disabled", st.disabled_reason or "credentials refused"
            elif st is not None and st.misconfigured_reason:
                word, reason = "misconfigured", st.misconfigured_reason
            elif st is not None and st.rate_limited_until and st.rate_limited_until > now:
                word, until = "rate_limited", iso(st.rate_limited_until)
            else:
                word = "ok"
            handle = getattr(settings, "handle", None) or getattr(settings, "username", None) or account_id
            budget = ({"used": max(windows[0].posts - left, 0), "posts": windows[0].posts,
                       "hours": f"{windows[0].per_seconds / 3600:g}"} if windows and left is not None else None)
            out.append({"account": account_id, "network": view.network if view else "?", "handle": str(handle),
                        "state": word.replace("_", " ") + (f": {reason}" if reason else ""), "word": word,
                        "reason": reason, "until": until, "disabled": bool(st and st.disabled), "budget": budget})
    return out


def audit_log(app: ReadsAccounts, actor: str | None = None, action: str | None = None, campaign: str | None = None,
              limit: int = 200) -> list[dict[str, Any]]:
    with app.sessions() as session:
        stmt = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if actor:
            stmt = stmt.where(AuditRow.actor == actor)
        if action:
            stmt = stmt.where(AuditRow.action == action)
        if campaign:
            stmt = stmt.where(AuditRow.campaign_id == campaign)
        zones = {r.id: campaign_zone(r.definition) for r in session.scalars(select(CampaignRow))}
        return [{"id": a.id, "at": iso(a.at), "actor": a.actor, "action": a.action, "campaign": a.campaign_id,
                 "zone": zones.get(a.campaign_id or "", "UTC"), "note": a.note, "details": a.details or {}}
                for a in session.scalars(stmt)]
