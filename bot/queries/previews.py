"""Previews, computed in memory and never written: the coming timeline (`plan`) and what a close would do
(`close --dry-run`). The web app calls them too (through bot.queries.reports), on every page view.

Campaigns are read from the files as they are now, falling back on the database's last good definition for
a file that no longer loads. A file's status that the planner has not applied yet is shown as it will be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts.directory import AccountLookup
from bot.actions.campaigns import parse_outcome
from bot.campaigns.loader import LoadedCampaign, LoadResult, did_you_mean
from bot.campaigns.schema import Message
from bot.campaigns.templates import TemplateError
from bot.errors import NotFound
from bot.networks.registry import network_class
from bot.outbox.new import NewDelivery
from bot.outbox.record import last_published
from bot.outbox.staff import REVIVABLE
from bot.planning.planner import desired_rows, last_variants
from bot.planning.rows import message_rows
from bot.queries.deps import Reads
from bot.states import CampaignState, Kind, Outcome, Status
from bot.store.models import CampaignRow, DeliveryRow


class Previews(Reads, Protocol):
    """The read models' needs, and the accounts and campaign files (previews render what the files say)."""

    @property
    def accounts(self) -> AccountLookup: ...

    def load_campaigns(self, paths: list[Path] | None = None, *, budgets: bool = True) -> LoadResult: ...


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
        closed = model.status == CampaignState.CLOSED
        return model.status, (model.outcome or Outcome.NO_FURTHER_ACTION) if closed else None, False
    if not from_file or model.status == row.file_status:
        return row.state, row.outcome, False
    if model.status == CampaignState.CLOSED and row.state != CampaignState.CLOSED:
        return CampaignState.CLOSED, model.outcome or Outcome.NO_FURTHER_ACTION, True
    if model.status == CampaignState.PAUSED and row.state == CampaignState.ACTIVE:
        return CampaignState.PAUSED, row.outcome, True
    if model.status == CampaignState.ACTIVE and row.state in (CampaignState.PAUSED, CampaignState.CLOSED):
        return CampaignState.ACTIVE, None, True
    return row.state, row.outcome, False


def known_campaigns(app: Previews, result: LoadResult | None = None) -> dict[str, Known]:
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


def _measured(network: str, text: str) -> dict[str, Any]:
    cls = network_class(network)
    return {"length": cls.measure(text), "limit": cls.max_length}


def _closing_rows(app: Previews, known: Known, outcome: str, now: datetime) -> list[NewDelivery]:
    message: Message = getattr(known.loaded.model.messages.closing, outcome)
    try:
        return message_rows(app.accounts, known.loaded, message, kind=Kind.CLOSING,
                            key=f"{known.loaded.id}|closing|preview", due_at=now, now=now, reply_in_thread=True)
    except TemplateError as exc:
        raise NotFound(f"{known.loaded.id}: the closing message does not render: {exc}") from None


def close_preview(app: Previews, campaign: str, outcome: str) -> dict[str, Any]:
    """What `close` would do, without doing it: the closing message per account and language, the post each
    replies under, and how many pending posts it cancels."""
    outcome = parse_outcome(outcome)
    now = app.clock.now()
    result = app.load_campaigns(budgets=False)
    known = _find(known_campaigns(app, result), campaign, result.failed)
    closed = known.state == CampaignState.CLOSED
    data: dict[str, Any] = {"campaign": campaign, "outcome": outcome, "state": known.state,
                            "timezone": known.loaded.model.timezone, "already_closed": closed,
                            "cancelled": 0, "in_flight": 0, "messages": []}
    if known.state == CampaignState.CLOSED:
        data["outcome"] = known.outcome
        return data
    rows = _closing_rows(app, known, outcome, now)
    with app.sessions() as session:
        pending = select(DeliveryRow.status, DeliveryRow.id).where(
            DeliveryRow.campaign_id == campaign, DeliveryRow.kind != Kind.CLOSING,
            DeliveryRow.status.in_((Status.PLANNED, Status.SENDING)))
        statuses = [s for s, _ in session.execute(pending)]
        data["cancelled"], data["in_flight"] = statuses.count(Status.PLANNED), statuses.count(Status.SENDING)
        for r in rows:
            parent = reply_parent(session, campaign, r.account_id, r.language)
            data["messages"].append({
                "account": r.account_id, "network": r.network, "language": r.language, "text": r.text,
                **_measured(r.network, r.text),
                "reply_to": None if parent is None else {
                    "delivery": parent.id, "kind": parent.kind, "remote_id": parent.remote_id,
                    "remote_url": parent.remote_url, "sent_at": iso(parent.sent_at)},
            })
    return data


def _row_out(r: NewDelivery | DeliveryRow, zone: str, *, delivery: int | None = None, held: bool = False,
             pending_close: bool = False) -> dict[str, Any]:
    return {"campaign": r.campaign_id, "account": r.account_id, "network": r.network, "kind": str(r.kind),
            "language": r.language, "due_at": iso(r.due_at), **_measured(r.network, r.text), "text": r.text,
            "timezone": zone, "delivery": delivery, "held": held, "on_next_plan": pending_close}


def preview(app: Previews, campaign: str | None, days: int) -> tuple[list[dict[str, Any]], list[str]]:
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
            wanted: dict[str, NewDelivery] = {}
            if k.state == CampaignState.ACTIVE:
                wanted = {w.plan_key: w for w in
                          desired_rows(app.accounts, k.loaded, now, end, now, last_variants(session, cid, now))}
            stored = {d.plan_key: d for d in session.scalars(select(DeliveryRow).where(
                DeliveryRow.campaign_id == cid, DeliveryRow.due_at < end, DeliveryRow.due_at >= earliest,
                DeliveryRow.status.in_((Status.PLANNED, Status.CANCELLED, Status.SENDING, Status.SENT))))}
            for key, w in wanted.items():
                d = stored.get(key)
                if d is not None and d.status != Status.PLANNED and not (
                        d.status == Status.CANCELLED and d.error_kind in REVIVABLE):
                    continue  # sent, being sent, or cancelled by hand: not coming
                out.append((w.due_at, _row_out(w, zone, delivery=d.id if d is not None else None)))
            for d in stored.values():
                if d.status != Status.PLANNED or d.plan_key in wanted or d.kind == Kind.CALL_TO_ACTION:
                    continue
                out.append((d.due_at, _row_out(d, zone, delivery=d.id,
                                               held=k.state == CampaignState.PAUSED and d.kind != Kind.CLOSING)))
            if k.pending_change and k.state == CampaignState.CLOSED and k.outcome:
                for r in _closing_rows(app, k, k.outcome, now):
                    out.append((now, _row_out(r, zone, pending_close=True)))
    rows = [r for due, r in sorted(out, key=lambda x: (x[1]["account"], x[0])) if due >= earliest]
    return rows, [str(i) for i in result.issues]
