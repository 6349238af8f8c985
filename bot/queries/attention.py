"""What needs a person, for the dashboard and the API: posts that were missed, failed or whose outcome is
unknown (each settled by `resolve`), campaign files that do not load (the worker records them in
file_problems: the database, not the worker's log, is where the web app reads), and whether the posts are
really published (console mode prints them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.outbox.tables import left_to_a_worker
from bot.queries.deps import ReadsAccounts
from bot.queries.reports import delivery_dict, file_problems
from bot.states import Action, ErrorKind, Status
from bot.store.models import CampaignRow, DeliveryRow

__all__ = ["console_mode", "file_problems", "unsettled_posts"]

SETTLED_BY_A_PERSON = (Status.UNKNOWN, Status.FAILED, Status.MISSED)
LIMIT = 100


def _zones(app: ReadsAccounts) -> dict[str, str]:
    with app.sessions() as session:
        return {cid: str(((d or {}).get("campaign") or {}).get("timezone") or "UTC")
                for cid, d in session.execute(select(CampaignRow.id, CampaignRow.definition))}


def unsettled_posts(app: ReadsAccounts, limit: int = LIMIT) -> list[dict[str, Any]]:
    """Missed, failed and unknown posts nobody has settled yet, oldest due first, each with its campaign's zone.
    A post a worker is reading back is not a person's yet (its timeline row says "being checked"): until a day
    has passed, or at once if its account is disabled (bot/outbox/tables.py left_to_a_worker)."""
    zones = _zones(app)
    with app.sessions() as session:
        rows = session.scalars(select(DeliveryRow).where(DeliveryRow.status.in_(SETTLED_BY_A_PERSON),
                                                         DeliveryRow.action == Action.POST,
                                                         DeliveryRow.error_kind.is_distinct_from(ErrorKind.RESOLVED),
                                                         ~left_to_a_worker(app.clock.now()))
                               .order_by(DeliveryRow.due_at, DeliveryRow.id).limit(limit))
        return [delivery_dict(d, zones.get(d.campaign_id, "UTC")) for d in rows]


def console_mode(app: ReadsAccounts) -> dict[str, Any]:
    """Whether posts are printed rather than published: the whole app (no config file, or --dry-run), or
    some accounts (network = "console")."""
    everything = bool(app.config.console_fallback)
    printing = sorted(a for a in app.config.accounts if (v := app.accounts.view(a)) is not None and v.console)
    return {"active": everything or bool(printing), "everything": everything, "accounts": printing}
