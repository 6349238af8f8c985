"""Previews, computed in memory and never written: the coming timeline (`plan`) and what a close would do
(`close --dry-run`). The web app calls them too (through bot.queries.reports), on every page view.

Campaigns are read from the files as they are now, falling back on the database's last good definition for
a file that no longer loads. A file's status that the planner has not applied yet is shown as it will be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.actions.lifecycle import normalise_outcome
from bot.campaigns.loader import LoadedCampaign, LoadResult, did_you_mean
from bot.campaigns.schema import Message
from bot.campaigns.templates import TemplateError
from bot.errors import NotFound
from bot.networks.registry import network_class
from bot.outbox.record import last_published
from bot.outbox.staff import REVIVABLE
from bot.planning.planner import desired_rows, last_variants
from bot.planning.rows import CALL_TO_ACTION, CANCELLED, CLOSING, PLANNED, SENDING, SENT, message_rows
from bot.store.models import CampaignRow, DeliveryRow

if TYPE_CHECKING:
    from bot.bootstrap import App


def iso(value: datetime | None) -> str | None:
    """One form for every time in the data: UTC, ISO 8601, to the second."""
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


@dataclass(frozen=True)
class Known:
    """A campaign as the next planner run will see it."""

    loaded: LoadedCampaign
    state: str
    outcome: str | None
    in_database: bool
    pending_change: bool
    """The file's status differs from what the database holds; the planner applies it on its next run."""


def _state(row: CampaignRow | None, loaded: LoadedCampaign, from_file: bool) -> tuple[str, str | None, bool]:
    """(state, outcome, pending): the planner's rule for a file's status, computed without applying it."""
    model = loaded.model
    if row is None:
        return model.status, (model.outcome or "no_further_action") if model.status == "closed" else None, False
    if not from_file or model.status == row.file_status:
        return row.state, row.outcome, False
    if model.status == "closed" and row.state != "closed":
        return "closed", model.outcome or "no_further_action", True
    if model.status == "paused" and row.state == "active":
        return "paused", row.outcome, True
    if model.status == "active" and row.state in ("paused", "closed"):
        return "active", None, True
    return row.state, row.outcome, False


def known_campaigns(app: App, result: LoadResult | None = None) -> dict[str, Known]:
    """Every campaign the files or the database know, read-only."""
    result = result if result is not None else app.load_campaigns(budgets=False)
    with app.sessions() as session:
        rows = {r.id: r for r in session.scalars(select(CampaignRow))}
    known: dict[str, Known] = {}
    for cid in sorted(set(rows) | set(result.campaigns)):
        row, loaded = rows.get(cid), result.campaigns.get(cid)
        from_file = loaded is not None
        if loaded is None:
            try:
                loaded = LoadedCampaign.from_definition(cid, rows[cid].definition)
            except ValueError:  # an old definition the current schema rejects: nothing to preview
                continue
        state, outcome, pending = _state(row, loaded, from_file)
        known[cid] = Known(loaded, state, outcome, row is not None, pending)
    return known


def _find(known: dict[str, Known], campaign: str, failed: set[str] | None = None) -> Known:
    if campaign in known:
        return known[campaign]
    if failed and campaign in failed:
        raise NotFound(f"campaign {campaign!r} does not load: run `campaign-bot validate` to see why")
    raise NotFound(f"no campaign {campaign!r}{did_you_mean(campaign, known)}")


def reply_parent(session: Session, campaign_id: str, account_id: str, language: str) -> Any:
    """The post a closing message or update will reply under: what the dispatcher picks (bot/outbox/record.py)."""
    return last_published(session.connection(), campaign_id, account_id, language)


def _measured(r: dict[str, Any]) -> dict[str, Any]:
    cls = network_class(r["network"])
    return {"length": cls.measure(r["text"]), "limit": cls.max_length}


def _closing_rows(app: App, known: Known, outcome: str, now: datetime) -> list[dict[str, Any]]:
    message: Message = getattr(known.loaded.model.messages.closing, outcome)
    try:
        return message_rows(app, known.loaded, message, kind=CLOSING, key=f"{known.loaded.id}|closing|preview",
                            due_at=now, now=now, reply_in_thread=True)
    except TemplateError as exc:
        raise NotFound(f"{known.loaded.id}: the closing message does not render: {exc}") from None


def close_preview(app: App, campaign: str, outcome: str) -> dict[str, Any]:
    """What `close` would do, without doing it: the closing message per account and language, the post each
    replies under, and how many pending posts it cancels."""
    outcome = normalise_outcome(outcome)
    now = app.clock.now()
    result = app.load_campaigns(budgets=False)
    known = _find(known_campaigns(app, result), campaign, result.failed)
    data: dict[str, Any] = {"campaign": campaign, "outcome": outcome, "state": known.state,
                            "timezone": known.loaded.model.timezone, "already_closed": known.state == "closed",
                            "cancelled": 0, "in_flight": 0, "messages": []}
    if known.state == "closed":
        data["outcome"] = known.outcome
        return data
    rows = _closing_rows(app, known, outcome, now)
    with app.sessions() as session:
        pending = select(DeliveryRow.status, DeliveryRow.id).where(
            DeliveryRow.campaign_id == campaign, DeliveryRow.kind != CLOSING,
            DeliveryRow.status.in_((PLANNED, SENDING)))
        statuses = [s for s, _ in session.execute(pending)]
        data["cancelled"], data["in_flight"] = statuses.count(PLANNED), statuses.count(SENDING)
        for r in rows:
            parent = reply_parent(session, campaign, r["account_id"], r["language"])
            data["messages"].append({
                "account": r["account_id"], "network": r["network"], "language": r["language"], "text": r["text"],
                **_measured(r),
                "reply_to": None if parent is None else {
                    "delivery": parent.id, "kind": parent.kind, "remote_id": parent.remote_id,
                    "remote_url": parent.remote_url, "sent_at": iso(parent.sent_at)},
            })
    return data


def _row_out(r: dict[str, Any], zone: str, *, delivery: int | None = None, held: bool = False,
             pending_close: bool = False) -> dict[str, Any]:
    return {"campaign": r["campaign_id"], "account": r["account_id"], "network": r["network"], "kind": r["kind"],
            "language": r["language"], "due_at": iso(r["due_at"]), **_measured(r), "text": r["text"],
            "timezone": zone, "delivery": delivery, "held": held, "on_next_plan": pending_close}


def preview(app: App, campaign: str | None, days: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The upcoming timeline per account over ``days``: the calls to action and updates the files ask for,
    the queued posts and closing messages waiting in the database, and the closing messages a file set to
    closed will queue. Returns (rows, the loader's warnings and errors). Writes nothing."""
    result = app.load_campaigns()
    known = known_campaigns(app, result)
    if campaign:
        _find(known, campaign, result.failed)
    now = app.clock.now()
    end = now + timedelta(days=days)
    earliest = now - timedelta(days=1)  # a slot jittered or queued a little before now still shows
    out: list[tuple[datetime, dict[str, Any]]] = []
    with app.sessions() as session:
        for cid, k in known.items():
            if campaign and cid != campaign:
                continue
            zone = k.loaded.model.timezone
            wanted: dict[str, dict[str, Any]] = {}
            if k.state == "active":
                wanted = {w["plan_key"]: w for w in
                          desired_rows(app, k.loaded, now, end, now, last_variants(session, cid, now))}
            stored = {d.plan_key: d for d in session.scalars(select(DeliveryRow).where(
                DeliveryRow.campaign_id == cid, DeliveryRow.due_at < end, DeliveryRow.due_at >= earliest,
                DeliveryRow.status.in_((PLANNED, CANCELLED, SENDING, SENT))))}
            for key, w in wanted.items():
                d = stored.get(key)
                if d is not None and d.status != PLANNED and not (
                        d.status == CANCELLED and d.error_kind in REVIVABLE):
                    continue  # sent, being sent, or cancelled by hand: not coming
                out.append((w["due_at"], _row_out(w, zone, delivery=d.id if d is not None else None)))
            for d in stored.values():
                if d.status != PLANNED or d.plan_key in wanted or d.kind == CALL_TO_ACTION:
                    continue
                r = {"campaign_id": cid, "account_id": d.account_id, "network": d.network, "kind": d.kind,
                     "language": d.language, "text": d.text, "due_at": d.due_at}
                out.append((d.due_at, _row_out(r, zone, delivery=d.id,
                                               held=k.state == "paused" and d.kind != CLOSING)))
            if k.pending_change and k.state == "closed" and k.outcome:
                for r in _closing_rows(app, k, k.outcome, now):
                    out.append((now, _row_out(r, zone, pending_close=True)))
    rows = [r for due, r in sorted(out, key=lambda x: (x[1]["account"], x[0])) if due >= earliest]
    return rows, [str(i) for i in result.issues]
