"""Read-only views for the CLI: status, history and the plan preview. Plain dicts, so --json is trivial."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from bot.deliveries import CALL_TO_ACTION, PLANNED, SENDING
from bot.networks.registry import network_class
from bot.planner import desired_rows, last_variants, sync_definitions
from bot.store.models import AccountStateRow, CampaignRow, ControlRow, DeliveryRow

if TYPE_CHECKING:
    from bot.app import App


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def delivery_dict(d: DeliveryRow) -> dict[str, Any]:
    return {
        "id": d.id,
        "campaign": d.campaign_id,
        "account": d.account_id,
        "network": d.network,
        "kind": d.kind,
        "status": d.status,
        "language": d.language,
        "due_at": _iso(d.due_at),
        "sent_at": _iso(d.sent_at),
        "text": d.text,
        "remote_id": d.remote_id,
        "remote_url": d.remote_url,
        "in_reply_to": d.in_reply_to,
        "attempts": d.attempts,
        "error": d.error,
    }


def history(app: App, campaign: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    with app.sessions() as session:
        # Future planned posts are the plan (`campaign-bot plan`), not history.
        stmt = select(DeliveryRow).where(or_(DeliveryRow.status != PLANNED, DeliveryRow.due_at <= app.clock.now()))
        if campaign:
            stmt = stmt.where(DeliveryRow.campaign_id == campaign)
        stmt = stmt.order_by(DeliveryRow.due_at, DeliveryRow.id)
        if limit:
            stmt = stmt.limit(limit)
        return [delivery_dict(d) for d in session.scalars(stmt)]


def status(app: App) -> dict[str, Any]:
    with app.sessions() as session:
        counts: dict[str, dict[str, int]] = {}
        for cid, st, n in session.execute(
            select(DeliveryRow.campaign_id, DeliveryRow.status, func.count()).group_by(
                DeliveryRow.campaign_id, DeliveryRow.status)
        ):
            counts.setdefault(cid, {})[st] = n
        next_post = dict(session.execute(
            select(DeliveryRow.campaign_id, func.min(DeliveryRow.due_at))
            .where(DeliveryRow.status == PLANNED).group_by(DeliveryRow.campaign_id)
        ).all())
        campaigns = []
        for row in session.scalars(select(CampaignRow).order_by(CampaignRow.id)):
            c = counts.get(row.id, {})
            nxt = next_post.get(row.id)
            campaigns.append({
                "id": row.id,
                "title": row.title,
                "state": row.state,
                "outcome": row.outcome,
                "changed_at": _iso(row.state_changed_at),
                "changed_by": row.state_changed_by,
                "next_post": _iso(nxt) if row.state != "paused" and nxt else None,
                "sent": c.get("sent", 0),
                "pending": c.get(PLANNED, 0) + c.get(SENDING, 0),
                "failed": c.get("failed", 0),
                "unknown": c.get("unknown", 0),
                "missed": c.get("missed", 0),
                "cancelled": c.get("cancelled", 0),
            })
        control = session.get(ControlRow, 1)
        accounts = [
            {"account": a.account_id, "disabled": a.disabled, "reason": a.disabled_reason,
             "rate_limited_until": _iso(a.rate_limited_until)}
            for a in session.scalars(select(AccountStateRow).order_by(AccountStateRow.account_id))
            if a.disabled or (a.rate_limited_until and a.rate_limited_until > app.clock.now())
        ]
        unknown = [delivery_dict(d) for d in session.scalars(
            select(DeliveryRow).where(DeliveryRow.status == "unknown").order_by(DeliveryRow.id))]
    return {
        "emergency_stop": {"active": bool(control and control.paused_all),
                           "reason": control.reason if control else None,
                           "by": control.changed_by if control else None},
        "campaigns": campaigns,
        "accounts": accounts,
        "needs_attention": unknown,
    }


def preview(app: App, campaign: str | None, days: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The upcoming timeline per account, from the files as they are now (nothing is written but the
    definitions), merged with what is already queued in the database; and the loader's warnings."""
    result = app.load_campaigns()
    effective = sync_definitions(app, result)
    now = app.clock.now()
    end = now + timedelta(days=days)
    out: list[dict[str, Any]] = []
    with app.sessions() as session:
        states = dict(session.execute(select(CampaignRow.id, CampaignRow.state)).all())
        for cid, loaded in sorted(effective.items()):
            if campaign and cid != campaign:
                continue
            if states.get(cid) == "active":
                for r in desired_rows(app, loaded, now, end, now, last_variants(session, cid, now)):
                    out.append(r)
            extra = session.scalars(select(DeliveryRow).where(
                DeliveryRow.campaign_id == cid, DeliveryRow.status == PLANNED, DeliveryRow.kind != CALL_TO_ACTION,
                DeliveryRow.due_at < end))
            out.extend({"campaign_id": d.campaign_id, "account_id": d.account_id, "network": d.network,
                        "kind": d.kind, "language": d.language, "text": d.text, "due_at": d.due_at}
                       for d in extra)
    rows = []
    for r in sorted(out, key=lambda r: (r["account_id"], r["due_at"])):
        if r["due_at"] < now - timedelta(days=1):
            continue
        cls = network_class(r["network"])
        rows.append({"campaign": r["campaign_id"], "account": r["account_id"], "network": r["network"],
                     "kind": r["kind"], "language": r["language"], "due_at": _iso(r["due_at"]),
                     "length": cls.measure(r["text"]), "limit": cls.max_length, "text": r["text"]})
    return rows, [str(i) for i in result.issues]
