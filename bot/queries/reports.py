"""Read-only views for the CLI and the web app: status, history, the plan preview and the close preview.

They return plain dicts (so --json and templates are trivial) and never write: no definitions are synced,
no file status is applied (only the planner does that, under its lock). Times are UTC ISO 8601 in the
data; each row carries its campaign's ``timezone`` so a table can show local times.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.alerts.health import failing_destinations
from bot.campaigns.deadlines import stored_deadline
from bot.campaigns.loader import campaign_files, did_you_mean
from bot.errors import NotFound
from bot.outbox.tables import left_to_a_worker
from bot.queries.deps import ReadsConfig
from bot.queries.liveness import worker_alive
from bot.queries.previews import close_preview, iso, known_campaigns, preview, reply_parent
from bot.states import CampaignState, Status
from bot.store.models import AccountStateRow, CampaignRow, ControlRow, DeliveryRow, FileProblemRow

__all__ = ["close_preview", "delivery_dict", "file_problems", "history", "iso", "known_campaigns", "preview",
           "reply_parent", "status"]


def delivery_dict(d: DeliveryRow, timezone: str | None = None) -> dict[str, Any]:
    return {
        "id": d.id,
        "campaign": d.campaign_id,
        "account": d.account_id,
        "network": d.network,
        "kind": d.kind,
        "action": d.action,
        "status": d.status,
        "language": d.language,
        "due_at": iso(d.due_at),
        "sent_at": iso(d.sent_at),
        "text": d.text,
        "remote_id": d.remote_id,
        "remote_url": d.remote_url,
        "in_reply_to": d.in_reply_to,
        "attempts": d.attempts,
        "error": d.error,
        "queued_by": d.queued_by,
        "timezone": timezone,
    }


def _timezones(session: Session) -> dict[str, str]:
    zones = {}
    for cid, definition in session.execute(select(CampaignRow.id, CampaignRow.definition)):
        zone = ((definition or {}).get("campaign") or {}).get("timezone")
        if isinstance(zone, str):
            zones[cid] = zone
    return zones


def check_campaign_known(app: ReadsConfig, session: Session, campaign: str) -> None:
    """An unknown campaign id is an error with a did-you-mean, from the database and the file names."""
    known = set(session.scalars(select(CampaignRow.id)))
    if campaign in known:
        return
    if app.config.campaigns_dir.is_dir():
        known |= {p.stem for p in campaign_files(app.config.campaigns_dir)}
    if campaign not in known:
        raise NotFound(f"no campaign {campaign!r}{did_you_mean(campaign, known)}")


def history(app: ReadsConfig, campaign: str | None = None, limit: int | None = None, *,
            statuses: Iterable[str] | None = None, kinds: Iterable[str] | None = None,
            since: datetime | None = None) -> list[dict[str, Any]]:
    """Deliveries in due order, all but future planned ones. ``limit``: the most recent N. ``since``: due at or
    after it."""
    with app.sessions() as session:
        if campaign:
            check_campaign_known(app, session, campaign)
        # Future planned posts are the plan (`campaign-bot plan`), not history.
        stmt = select(DeliveryRow).where(or_(DeliveryRow.status != Status.PLANNED,
                                             DeliveryRow.due_at <= app.clock.now()))
        if campaign:
            stmt = stmt.where(DeliveryRow.campaign_id == campaign)
        if statuses:
            stmt = stmt.where(DeliveryRow.status.in_(list(statuses)))
        if kinds:
            stmt = stmt.where(DeliveryRow.kind.in_(list(kinds)))
        if since is not None:
            stmt = stmt.where(DeliveryRow.due_at >= since)
        stmt = stmt.order_by(DeliveryRow.due_at.desc(), DeliveryRow.id.desc())
        if limit:
            stmt = stmt.limit(limit)
        zones = _timezones(session)
        rows = [delivery_dict(d, zones.get(d.campaign_id)) for d in session.scalars(stmt)]
    rows.reverse()
    return rows


def file_problems(app: ReadsConfig) -> list[dict[str, Any]]:
    """Campaign files the worker could not load, as it last found them. The last good version (if any) runs on."""
    with app.sessions() as session:
        known = set(session.scalars(select(CampaignRow.id)))
        return [{"campaign": r.campaign_id, "path": r.path, "problems": list(r.problems), "since": iso(r.since),
                 "checked_at": iso(r.checked_at), "running_last_good": r.campaign_id in known}
                for r in session.scalars(select(FileProblemRow).order_by(FileProblemRow.campaign_id))]


def status(app: ReadsConfig) -> dict[str, Any]:
    now = app.clock.now()
    with app.sessions() as session:
        counts: dict[str, dict[str, int]] = {}
        for cid, st, n in session.execute(
            select(DeliveryRow.campaign_id, DeliveryRow.status, func.count()).group_by(
                DeliveryRow.campaign_id, DeliveryRow.status)
        ):
            counts.setdefault(cid, {})[st] = n
        next_post = dict(session.execute(
            select(DeliveryRow.campaign_id, func.min(DeliveryRow.due_at))
            .where(DeliveryRow.status == Status.PLANNED).group_by(DeliveryRow.campaign_id)
        ).all())
        campaigns = []
        for row in session.scalars(select(CampaignRow).order_by(CampaignRow.id)):
            c = counts.get(row.id, {})
            nxt = next_post.get(row.id)
            zone = ((row.definition or {}).get("campaign") or {}).get("timezone")
            act_by = stored_deadline(row.definition, zone)
            campaigns.append({
                "id": row.id,
                "title": row.title,
                "state": row.state,
                "outcome": row.outcome,
                "timezone": zone,
                "changed_at": iso(row.state_changed_at),
                "changed_by": row.state_changed_by,
                "next_post": iso(nxt) if row.state != CampaignState.PAUSED and nxt else None,
                "act_by": iso(act_by),
                "deadline_passed": bool(act_by and act_by <= now),
                "sent": c.get(Status.SENT, 0),
                "pending": c.get(Status.PLANNED, 0) + c.get(Status.SENDING, 0),
                "failed": c.get(Status.FAILED, 0),
                "unknown": c.get(Status.UNKNOWN, 0),
                "missed": c.get(Status.MISSED, 0),
                "cancelled": c.get(Status.CANCELLED, 0),
            })
        control = session.get(ControlRow, 1)
        accounts = []
        for a in session.scalars(select(AccountStateRow).order_by(AccountStateRow.account_id)):
            misconfigured = a.misconfigured_reason
            limited = a.rate_limited_until if a.rate_limited_until and a.rate_limited_until > now else None
            if a.disabled or misconfigured or limited:
                accounts.append({"account": a.account_id, "disabled": a.disabled, "reason": a.disabled_reason,
                                 "misconfigured": misconfigured, "rate_limited_until": iso(limited)})
        zones = _timezones(session)
        unknown = [delivery_dict(d, zones.get(d.campaign_id)) for d in session.scalars(  # a person's to settle:
            select(DeliveryRow).where(DeliveryRow.status == Status.UNKNOWN, ~left_to_a_worker(now))  # as the
            .order_by(DeliveryRow.id))]  # dashboard's "Needs a person" (bot/queries/attention.py)
    alive, worker = worker_alive(app)
    with app.engine.connect() as conn:
        failing_alerts = failing_destinations(conn, [d.key for d in app.config.alerts]) if app.config.alerts else []
    return {
        "now": iso(now),
        "worker": {"alive": alive, "message": worker},
        "emergency_stop": {"active": bool(control and control.paused_all),
                           "reason": control.reason if control else None,
                           "by": control.changed_by if control else None},
        "campaigns": campaigns,
        "accounts": accounts,
        "needs_attention": unknown,
        "alerts_failing": failing_alerts,
        "invalid_files": file_problems(app),
    }

