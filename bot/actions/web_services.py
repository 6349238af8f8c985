"""Service functions the web app needs that the engine does not offer yet.

Each is a thin function in the style of bot/lifecycle.py (one transaction, an audit record, a Result), so
the CLI can call the same code; the coordinator can move them next to their siblings.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.accounts import state as account_state
from bot.actions import lifecycle
from bot.actions.lifecycle import Result
from bot.campaigns.loader import LoadedCampaign
from bot.campaigns.schema import Message
from bot.campaigns.templates import TemplateError
from bot.campaigns.validate import check_text
from bot.errors import NotFound, UserError
from bot.networks.registry import network_class
from bot.outbox import staff
from bot.planning.rows import PLANNED, QUEUED, message_rows
from bot.queries import reports
from bot.queries.reports import delivery_dict
from bot.states import Status
from bot.store import audit
from bot.store.access import ApprovalRow
from bot.store.models import DeliveryRow
from bot.web.auth import Forbidden

if TYPE_CHECKING:
    from bot.bootstrap import App

AWAITING_APPROVAL = Status.AWAITING_APPROVAL
EDITABLE = (PLANNED, AWAITING_APPROVAL)


def close_preview(app: App, campaign: str, outcome: str) -> dict[str, Any]:
    """What `close` would do now, writing nothing: the same preview `campaign-bot close --dry-run` prints
    (bot/previews.py), shaped for the confirmation page."""
    data = reports.close_preview(app, campaign, outcome)
    with app.sessions() as session:
        title = lifecycle.campaign_row(session, campaign).title
    messages = [{**{k: m[k] for k in ("account", "network", "language", "text", "length", "limit")},
                 "reply_under": (m["reply_to"]["remote_url"] or m["reply_to"]["remote_id"]) if m["reply_to"] else None}
                for m in data["messages"]]
    return {"campaign": campaign, "title": title, "state": data["state"], "outcome": data["outcome"],
            "already_closed": data["already_closed"], "cancelled": data["cancelled"], "messages": messages}


def _pending(app: App, delivery_id: int) -> DeliveryRow:
    with app.sessions() as session:
        d = session.get(DeliveryRow, delivery_id)
    if d is None:
        raise NotFound(f"no delivery {delivery_id}")
    if d.status not in EDITABLE:
        raise UserError(f"delivery {delivery_id} is {d.status}: only a planned post can be changed")
    return d


def changeable(app: App, delivery_id: int, *, any_kind: bool, by: str | None = None) -> dict[str, Any]:
    """The delivery, if this person may change it: staff (any_kind) any post not yet sent; an organiser only a
    post they queued themselves."""
    with app.sessions() as session:
        d = session.get(DeliveryRow, delivery_id)
        if d is None:
            raise NotFound(f"no delivery {delivery_id}")
        if not any_kind and (d.kind != QUEUED or d.queued_by is None or d.queued_by != by):
            raise Forbidden("staff")
        return delivery_dict(d)


def cancel_delivery(app: App, delivery_id: int, by: str) -> Result:
    """Cancel one post not yet sent (any kind): `campaign-bot cancel`'s code path."""
    _pending(app, delivery_id)
    return lifecycle.cancel_delivery(app, delivery_id, by)


def edit_delivery(app: App, delivery_id: int, text: str, by: str) -> Result:
    """Replace the text of a queued post, validated like `queue`: `campaign-bot edit`'s code path."""
    _pending(app, delivery_id)
    if not text.strip():
        raise UserError("text: write the post")
    return lifecycle.edit_delivery(app, delivery_id, by, text=text.strip())


def measure(app: App, campaign: str, text: str, language: str | None) -> list[dict[str, Any]]:
    """The length of a text per account as the server counts it when the post is queued (the same
    rendering and check_text as `validate` and `queue`)."""
    now = app.clock.now()
    with app.sessions() as session:
        row = lifecycle.campaign_row(session, campaign)
        loaded = LoadedCampaign.from_definition(row.id, row.definition)
    lang = language or loaded.model.languages[0]
    if lang not in loaded.model.languages:
        raise UserError(f"language {lang!r}: the campaign posts in {', '.join(loaded.model.languages)}")
    try:
        rows = message_rows(app, loaded, Message(text={lang: text}), kind="queued", key="measure", due_at=now,
                            now=now, reply_in_thread=False, languages=[lang])
    except TemplateError as exc:
        raise UserError(f"text: {exc}") from None
    out = []
    for r in rows:
        cls = network_class(r["network"])
        problems = check_text("text", "", r["text"], r["network"], lang)
        out.append({"account": r["account_id"], "network": r["network"], "length": cls.measure(r["text"]),
                    "limit": cls.max_length, "ok": not problems, "problem": problems[0].message if problems else None})
    return out


def queue_for_approval(app: App, campaign: str, when: datetime, text: str, by: str,
                       account: str | None = None, language: str | None = None) -> Result:
    """lifecycle.queue, but the rows wait as awaiting_approval (the worker claims only planned rows) until
    someone else with the staff role approves them; the request and the rows land in one transaction."""
    with app.sessions.begin() as session:
        key, count = lifecycle.queue_in(session, app, campaign, when, text, by, account, language,
                                        awaiting_approval=True)
        session.add(ApprovalRow(kind="post", campaign_id=campaign, plan_key_prefix=key + "|", requested_by=by,
                                requested_at=app.clock.now()))
    return Result(True, f"queued {count} post(s) for {campaign}: they wait for approval by another staff member")


def request_close(app: App, campaign: str, outcome: str, by: str, note: str | None) -> Result:
    """A close that needs a second staff member: nothing changes until someone else approves it."""
    outcome = lifecycle.normalise_outcome(outcome)
    now = app.clock.now()
    with app.sessions.begin() as session:
        row = lifecycle.campaign_row(session, campaign)
        if row.state == "closed":
            return Result(False, f"{campaign} is already closed ({row.outcome}); nothing changed")
        waiting = session.scalars(select(ApprovalRow).where(ApprovalRow.campaign_id == campaign,
                                                            ApprovalRow.kind == "close",
                                                            ApprovalRow.decision.is_(None))).first()
        if waiting is not None:
            return Result(False, f"a close of {campaign} requested by {waiting.requested_by} already waits for "
                                 "approval; nothing changed")
        session.add(ApprovalRow(kind="close", campaign_id=campaign, requested_by=by, requested_at=now,
                                details={"outcome": outcome, "note": note}))
        audit.record(session, now, by, "request_close", campaign, note, outcome=outcome)
    return Result(True, f"the close of {campaign} ({outcome}) waits for a second staff member's approval")


def pending_approvals(app: App, campaign: str | None = None) -> list[dict[str, Any]]:
    with app.sessions() as session:
        stmt = select(ApprovalRow).where(ApprovalRow.decision.is_(None)).order_by(ApprovalRow.id)
        if campaign:
            stmt = stmt.where(ApprovalRow.campaign_id == campaign)
        out = []
        for a in session.scalars(stmt):
            if a.kind == "close":
                details = a.details or {}
                text = f"Close the case ({str(details.get('outcome', '')).replace('_', ' ')})" + (
                    f": {details['note']}" if details.get("note") else "")
                out.append({"id": a.id, "kind": a.kind, "campaign": a.campaign_id, "requested_by": a.requested_by,
                            "requested_at": a.requested_at, "text": text, "due_at": None})
                continue
            first = session.scalars(select(DeliveryRow).where(DeliveryRow.plan_key.startswith(a.plan_key_prefix or "-"))
                                    .order_by(DeliveryRow.id).limit(1)).first()
            out.append({"id": a.id, "kind": a.kind, "campaign": a.campaign_id, "requested_by": a.requested_by,
                        "requested_at": a.requested_at, "text": first.text if first else "",
                        "due_at": first.due_at if first else None})
    return out


def approve(app: App, approval_id: int, by: str, approve: bool = True) -> Result:
    now = app.clock.now()
    with app.sessions.begin() as session:
        a = session.get(ApprovalRow, approval_id, with_for_update=True)
        if a is None:
            raise NotFound(f"no approval request {approval_id}")
        if a.decision is not None:
            return Result(False, f"already {a.decision} by {a.decided_by}; nothing changed")
        if a.requested_by == by:
            raise UserError("someone else with the staff role approves this: you asked for it")
        a.decision, a.decided_by, a.decided_at = ("approved" if approve else "rejected"), by, now
        audit.record(session, now, by, "approve" if approve else "reject", a.campaign_id, None,
                     approval=approval_id, kind=a.kind, requested_by=a.requested_by)
        if a.kind == "close":
            if not approve:
                return Result(True, f"rejected the close requested by {a.requested_by}")
            details = a.details or {}
            note = f"{details.get('note') or ''} (requested by {a.requested_by}, approved by {by})".strip()
            # In the same transaction: the approval and the close land together or not at all.
            closed = lifecycle.close_in(session, app, a.campaign_id, str(details.get("outcome")), now, by, note)
            return Result(True, f"approved the close requested by {a.requested_by}: {closed.message}")
        if approve and lifecycle.campaign_row(session, a.campaign_id).state == "closed":
            raise UserError(f"{a.campaign_id} is closed: this post is not sent; reject it, or reopen the campaign "
                            "first")
        staff.settle_approval(session.connection(), a.plan_key_prefix or "-", approve, now, by)
    return Result(True, f"{a.decision} the post queued by {a.requested_by}")


def enable_account(app: App, account: str, by: str) -> Result:
    """account_state.enable, with the person in the audit log."""
    changed = account_state.enable(app, account)
    if changed:
        with app.sessions.begin() as session:
            audit.record(session, app.clock.now(), by, "enable_account", None, account)
    return Result(changed, f"{account} enabled" if changed else f"{account} was not disabled; nothing changed")
