"""Read-only views the pages need beyond bot/reports.py: a campaign's whole timeline, the next post per
account, the last sent posts, the accounts and the audit log. Plain dicts, like the reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select

from bot.outbox.budgets import remaining
from bot.queries.deps import ReadsAccounts
from bot.queries.reports import delivery_dict
from bot.states import UNSENT, Action, Status
from bot.store.models import AccountStateRow, AuditRow, CampaignRow, DeliveryRow
from bot.supporters.report import campaign_supporters

TIMELINE_LIMIT = 300
UPCOMING = 30


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


def campaign(app: ReadsAccounts, campaign_id: str, upcoming: int | None = UPCOMING) -> dict[str, Any] | None:
    """The campaign and its timeline: what happened (newest TIMELINE_LIMIT) and the next ``upcoming`` planned
    posts (None: all of them)."""
    now = app.clock.now()
    with app.sessions() as session:
        row = session.get(CampaignRow, campaign_id)
        if row is None:
            return None
        zone = campaign_zone(row.definition)
        ahead = (DeliveryRow.campaign_id == campaign_id, DeliveryRow.status.in_(UNSENT),
                 DeliveryRow.due_at > now, DeliveryRow.action == Action.POST)  # supporters' boosts: c["supporters"]
        past = list(session.scalars(select(DeliveryRow).where(DeliveryRow.campaign_id == campaign_id,
                                                              DeliveryRow.action == Action.POST, ~(and_(*ahead[:3])))
                                    .order_by(DeliveryRow.due_at.desc(), DeliveryRow.id.desc()).limit(TIMELINE_LIMIT)))
        future = list(session.scalars(select(DeliveryRow).where(*ahead).order_by(DeliveryRow.due_at, DeliveryRow.id)
                                      .limit(upcoming)))
        planned_total = session.scalar(select(func.count()).select_from(DeliveryRow).where(*ahead)) or 0
        supporters = campaign_supporters(session, campaign_id)
    timeline = []
    for d in [*reversed(past), *future]:
        item = delivery_dict(d)
        item["due_local"] = local(d.due_at, zone)
        item["due_utc"] = d.due_at.isoformat(timespec="seconds")
        timeline.append(item)
    return {"id": row.id, "title": row.title, "state": row.state, "outcome": row.outcome, "zone": zone,
            "languages": list(model_of(row.definition).get("languages") or []),
            "accounts": list(model_of(row.definition).get("accounts") or []),
            "changed_by": row.state_changed_by, "note": row.state_note, "timeline": timeline,
            "more_planned": planned_total - len(future), "supporters": supporters}


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
            out.setdefault(cid, []).append({"account": account, "due_local": local(due, zone), "zone": zone,
                                            "due_utc": due.isoformat(timespec="seconds")})
    return out


def last_sent(app: ReadsAccounts, limit: int = 8) -> list[dict[str, Any]]:
    with app.sessions() as session:
        rows = session.scalars(select(DeliveryRow).where(DeliveryRow.status == Status.SENT)
                               .order_by(DeliveryRow.sent_at.desc(), DeliveryRow.id.desc()).limit(limit))
        return [delivery_dict(d) for d in rows]


def needs_a_person(app: ReadsAccounts) -> list[dict[str, Any]]:
    """Failed and unknown deliveries that are not settled yet."""
    with app.sessions() as session:
        rows = session.scalars(select(DeliveryRow).where(DeliveryRow.status.in_((Status.FAILED, Status.UNKNOWN)),
                                                         DeliveryRow.error_kind.is_distinct_from("resolved"))
                               .order_by(DeliveryRow.id).limit(100))
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
            if view is None:
                state = "misconfigured: not in the config file"
            elif st is not None and st.disabled:
                state = f"disabled: {st.disabled_reason or 'credentials refused'}"
            elif st is not None and st.misconfigured_reason:
                state = f"misconfigured: {st.misconfigured_reason}"
            elif st is not None and st.rate_limited_until and st.rate_limited_until > now:
                state = f"rate limited until {st.rate_limited_until.isoformat(timespec='minutes')}"
            else:
                state = "ok"
            handle = getattr(settings, "handle", None) or getattr(settings, "username", None) or account_id
            out.append({"account": account_id, "network": view.network if view else "?", "handle": str(handle),
                        "state": state, "disabled": bool(st and st.disabled),
                        "budget": f"{max(windows[0].posts - left, 0)} used of {windows[0]}"
                        if windows and left is not None else "no budget"})
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
        return [{"id": a.id, "at": a.at.strftime("%Y-%m-%d %H:%M:%S"), "actor": a.actor, "action": a.action,
                 "campaign": a.campaign_id, "note": a.note, "details": a.details or {}}
                for a in session.scalars(stmt)]
