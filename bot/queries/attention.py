"""What needs a person, for the dashboard and the API: posts that were missed, failed or whose outcome is
unknown (each settled by `resolve`), campaign files that do not load (the worker records them in
file_problems: the database, not the worker's log, is where the web app reads), and whether the posts are
really published (console mode prints them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.queries.deps import ReadsAccounts
from bot.queries.previews import iso
from bot.queries.reports import delivery_dict
from bot.states import Action, ErrorKind, Status
from bot.store.models import CampaignRow, DeliveryRow, FileProblemRow

SETTLED_BY_A_PERSON = (Status.UNKNOWN, Status.FAILED, Status.MISSED)
LIMIT = 100


def _zones(app: ReadsAccounts) -> dict[str, str]:
    with app.sessions() as session:
        return {cid: str(((d or {}).get("campaign") or {}).get("timezone") or "UTC")
                for cid, d in session.execute(select(CampaignRow.id, CampaignRow.definition))}


def unsettled_posts(app: ReadsAccounts, limit: int = LIMIT) -> list[dict[str, Any]]:
    """Missed, failed and unknown posts nobody has settled yet, oldest due first, each with its campaign's zone."""
    zones = _zones(app)
    with app.sessions() as session:
        rows = session.scalars(select(DeliveryRow).where(DeliveryRow.status.in_(SETTLED_BY_A_PERSON),
                                                         DeliveryRow.action == Action.POST,
                                                         DeliveryRow.error_kind.is_distinct_from(ErrorKind.RESOLVED))
                               .order_by(DeliveryRow.due_at, DeliveryRow.id).limit(limit))
        return [delivery_dict(d, zones.get(d.campaign_id, "UTC")) for d in rows]


def file_problems(app: ReadsAccounts) -> list[dict[str, Any]]:
    """Campaign files the worker could not load, as it last found them. The last good version (if any) runs on."""
    with app.sessions() as session:
        known = set(session.scalars(select(CampaignRow.id)))
        return [{"campaign": r.campaign_id, "path": r.path, "problems": list(r.problems), "since": iso(r.since),
                 "checked_at": iso(r.checked_at), "running_last_good": r.campaign_id in known}
                for r in session.scalars(select(FileProblemRow).order_by(FileProblemRow.campaign_id))]


def console_mode(app: ReadsAccounts) -> dict[str, Any]:
    """Whether posts are printed rather than published: the whole app (no config file, or --dry-run), or
    some accounts (network = "console")."""
    everything = bool(app.config.console_fallback)
    printing = sorted(a for a in app.config.accounts if (v := app.accounts.view(a)) is not None and v.console)
    return {"active": everything or bool(printing), "everything": everything, "accounts": printing}
