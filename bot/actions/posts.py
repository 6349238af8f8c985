"""Posts people queue, change, cancel and settle.

Approval: a post an organiser queues waits (`awaiting_approval`) when the campaign's `approval` (else the web
app's default) asks for it, until another staff member approves it. A post that went through approval, approved
or still waiting, goes back to it whenever its text or time changes, whoever changes it: what goes out after an
approval is what was approved, and even a staff member's own edit needs a second person."""

from __future__ import annotations

import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from bot.actions.base import NO_APPROVALS, Actor, Approvals, Context, Result, action, campaign_row
from bot.actions.campaigns import needs_second_person
from bot.actions.errors import ActionError, Conflict, Forbidden, NotFound
from bot.actions.times import check_future
from bot.campaigns.loader import LoadedCampaign
from bot.campaigns.schema import Message
from bot.campaigns.templates import TemplateError
from bot.campaigns.validate import check_text
from bot.outbox import staff, workers
from bot.outbox.new import NewDelivery
from bot.outbox.tables import of_the_last_close_row
from bot.planning.rows import message_rows
from bot.states import UNSENT, Action, ApprovalKind, Audit, CampaignState, ErrorKind, Kind, Role, Status
from bot.store import audit
from bot.store.access import ApprovalRow

SETTLEABLE = (Status.UNKNOWN, Status.FAILED, Status.MISSED)
"""What waits for a person to say what happened (bot/queries/attention.py lists them)."""


def _render(ctx: Context, loaded: LoadedCampaign, text: str, language: str, accounts: list[str], key: str,
            due_at: datetime, now: datetime, queued_by: str | None) -> list[NewDelivery]:
    """One row per account, checked like a message in a campaign file: its template and its length and text as
    each network counts them."""
    if not text.strip():
        raise ActionError("empty", "text")
    try:
        rows = message_rows(ctx.accounts, loaded, Message(text={language: text}), kind=Kind.QUEUED, key=key,
                            due_at=due_at, now=now, reply_in_thread=False, only_accounts=accounts,
                            languages=[language], queued_by=queued_by)
    except TemplateError as exc:
        raise ActionError("template", "text", problem=str(exc)) from None
    for r in rows:
        problems = check_text("", "", r.text, r.network, language)
        if problems:
            raise ActionError("text_rejected", "text", problem=problems[0].message)
    return rows


def _request(session: Session, campaign_id: str, by: str, now: datetime, **details: Any) -> int:
    approval = ApprovalRow(kind=ApprovalKind.POST, campaign_id=campaign_id, requested_by=by, requested_at=now,
                           details=details or None)
    session.add(approval)
    session.flush()
    return approval.id


@action
def queue(ctx: Context, actor: Actor, campaign_id: str, *, at: datetime, text: str, account: str | None = None,
          language: str | None = None, approvals: Approvals = NO_APPROVALS) -> Result:
    """Queue an extra post (a template, like a message in a campaign file) on every account of the campaign, or
    one; it waits for a staff member's approval when the campaign (or the default) asks for it and the person
    queueing it is not staff."""
    actor.require(Role.ORGANISER)
    now = ctx.clock.now()
    check_future(at, now)
    with ctx.sessions.begin() as session:
        row = campaign_row(session, campaign_id)
        if row.state == CampaignState.CLOSED:
            raise ActionError("closed_no_queue", campaign=campaign_id, outcome=row.outcome)
        loaded = LoadedCampaign.from_definition(row.id, row.definition)
        lang = language or loaded.model.languages[0]
        if lang not in loaded.model.languages:
            raise ActionError("unknown_language", "language", language=lang,
                              languages=", ".join(loaded.model.languages))
        accounts = loaded.model.accounts
        if account is not None:
            if account not in accounts:
                raise ActionError("unknown_account", "account", account=account, accounts=", ".join(accounts))
            accounts = [account]
        key = f"{campaign_id}|queued|{uuid.uuid4().hex}"
        rows = _render(ctx, loaded, text, lang, accounts, key, at, now, actor.name)
        if not rows:
            raise ActionError("no_account_posts_in", "language", accounts=", ".join(accounts), language=lang)
        waits = not actor.can(Role.STAFF) and needs_second_person(row, approvals.posts, "approval")
        if waits:
            approval = _request(session, campaign_id, actor.name, now)
            rows = [r._replace(status=Status.AWAITING_APPROVAL, approval_id=approval) for r in rows]
        staff.insert_planned(session.connection(), rows)
        audit.record(session, now, actor.name, Audit.QUEUE, campaign_id, text, due_at=at.isoformat(),
                     posts=len(rows), **({"awaiting_approval": True} if waits else {}))
    if waits:
        return Result(True, "queued_for_approval", {"count": len(rows), "campaign": campaign_id})
    return Result(True, "queued", {"count": len(rows), "campaign": campaign_id, "at": at.isoformat(timespec="seconds")})


def check_may_change(actor: Actor, kind: str, queued_by: str | None) -> None:
    """Staff change any post not sent yet; an organiser only a post they queued themselves."""
    if not actor.can(Role.STAFF) and (kind != Kind.QUEUED or queued_by != actor.name):
        raise Forbidden("not_your_post")


def _changeable(session: Session, actor: Actor, delivery_id: int, change: str, *, in_doubt: bool = False) -> Any:
    """The delivery, if this person may change it now (``change``: "edited", "cancelled"; ``in_doubt``: also one
    an earlier attempt may have published)."""
    d = staff.one(session.connection(), delivery_id)
    if d is None:
        raise NotFound("no_delivery", "delivery", delivery=delivery_id)
    check_may_change(actor, d.kind, d.queued_by)
    if d.status == Status.SENDING:
        raise Conflict("being_sent", delivery=delivery_id)
    if d.error_kind == ErrorKind.IN_DOUBT and not in_doubt:
        raise Conflict("in_doubt", delivery=delivery_id)
    if d.status not in UNSENT:
        raise ActionError("not_unsent", delivery=delivery_id, status=d.status, change=change)
    return d


@action
def edit(ctx: Context, actor: Actor, delivery_id: int, *, text: str | None = None,
         at: datetime | None = None) -> Result:
    """Change a queued post's text or time before it goes out, checked like `queue`. A post that went through
    approval waits for a new one, from someone other than the person who changed it."""
    actor.require(Role.ORGANISER)
    if text is None and at is None:
        raise ActionError("nothing_to_change", "text")
    now = ctx.clock.now()
    if at is not None:
        check_future(at, now)
    with ctx.sessions.begin() as session:
        d = _changeable(session, actor, delivery_id, "edited")
        if d.action != Action.POST:  # a supporter's boost (or take-back) repeats a post: no text of its own
            raise ActionError("boost_not_edited", delivery=delivery_id)
        if d.kind != Kind.QUEUED:
            raise ActionError("only_queued_edited", delivery=delivery_id, kind=str(d.kind).replace("_", " "))
        changes: dict[str, str] = {}
        edited: NewDelivery | None = None
        if text is not None:
            row = campaign_row(session, d.campaign_id)
            loaded = LoadedCampaign.from_definition(row.id, row.definition)
            rows = _render(ctx, loaded, text, d.language, [d.account_id], "edit", d.due_at, now, None)
            if not rows:
                raise ActionError("account_dropped_language", delivery=delivery_id, account=d.account_id,
                                  language=d.language)
            edited, changes["text"] = rows[0], text
        if at is not None:
            changes["due_at"] = at.isoformat()
        approval = None
        if d.approval_id is not None:  # it was approved, or waits: it waits again, for someone else
            approval = _request(session, d.campaign_id, actor.name, now, edit_of=d.approval_id, delivery=delivery_id)
        if not staff.edit_unsent(session.connection(), delivery_id, now, due_at=at, approval_id=approval,
                                 text=edited and edited.text, text_length=edited and edited.text_length,
                                 length_for=edited and edited.length_for):
            raise Conflict("changed_meanwhile", delivery=delivery_id)
        audit.record(session, now, actor.name, Audit.EDIT, d.campaign_id, None, delivery=delivery_id,
                     **changes, **({"approval": approval} if approval else {}))
    code = "edited_for_approval" if approval else "edited"
    return Result(True, code, {"delivery": delivery_id, "changes": ", ".join(changes)})


@action
def cancel(ctx: Context, actor: Actor, delivery_id: int, note: str | None = None) -> Result:
    """Cancel one post that has not gone out: a queued post, a planned call to action, an update or a closing
    message. The planner never brings it back."""
    actor.require(Role.ORGANISER)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        d = _changeable(session, actor, delivery_id, "cancelled", in_doubt=True)
        doubt = d.error_kind == ErrorKind.IN_DOUBT
        if doubt:  # it may be public already: never sent again, and cancelled only once the account says not
            why = (f"{actor.name} asked to cancel it" + (f" ({note})" if note else "") + ", and an earlier attempt "
                   "may have gone out (its answer was lost): reading the account back; cancelled if it is not there")
            done = workers.flag_in_doubt(session.connection(), None, now, why, closings=None, ids=[delivery_id],
                                         cancel_asked_by=actor.name) == 1
        else:
            done = staff.cancel_one(session.connection(), delivery_id, now,
                                    f"cancelled by {actor.name}" + (f": {note}" if note else ""))
        if not done:
            raise Conflict("changed_meanwhile", delivery=delivery_id)
        audit.record(session, now, actor.name, Audit.CANCEL, d.campaign_id, note, delivery=delivery_id,
                     kind=str(d.kind), account=d.account_id, due_at=d.due_at.isoformat(),
                     **({"read_back_first": True} if doubt else {}))
    return Result(True, "cancel_read_back" if doubt else "cancelled",
                  {"delivery": delivery_id, "kind": str(d.kind), "campaign": d.campaign_id, "account": d.account_id})


@action
def resolve(ctx: Context, actor: Actor, delivery_id: int, *, sent_url: str | None = None,
            resend: bool = False) -> Result:
    """A person settles a delivery whose outcome was unknown (or that failed, or was missed) after checking the
    account: it was sent (at ``sent_url``), send it again now (``resend``), or neither: cancel it."""
    actor.require(Role.STAFF)
    if sent_url is not None and not sent_url.strip().startswith(("http://", "https://")):
        raise ActionError("needs_url", "url")
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        d = staff.one(session.connection(), delivery_id)
        if d is None:
            raise NotFound("no_delivery", "delivery", delivery=delivery_id)
        if d.status not in SETTLEABLE:
            raise ActionError("not_settleable", delivery=delivery_id, status=d.status)
        if resend and d.kind != Kind.CLOSING and campaign_row(session, d.campaign_id).state == CampaignState.CLOSED:
            raise ActionError("closed_no_resend", campaign=d.campaign_id)
        if resend and d.kind == Kind.CLOSING and d.action == Action.POST:
            row = campaign_row(session, d.campaign_id)
            if row.state != CampaignState.CLOSED or not of_the_last_close_row(
                    SimpleNamespace(plan_key=d.plan_key, campaign_id=d.campaign_id, close_seq=row.close_seq)):
                raise ActionError("closing_not_current", delivery=delivery_id, campaign=d.campaign_id)
        done = "marked sent" if sent_url else "queued again" if resend else "cancelled"
        error = f"{done} by {actor.name}" + (f" (was: {d.error})" if d.error else "")
        url = sent_url.strip() if sent_url else None
        if not staff.settle(session.connection(), delivery_id, d.status, now, error, sent_url=url,
                            sent_id=d.remote_id or (url.rstrip("/").rsplit("/", 1)[-1] if url else None),
                            sent_at=d.sent_at, resend=resend):
            raise Conflict("changed_meanwhile", delivery=delivery_id)
        audit.record(session, now, actor.name, Audit.RESOLVE, d.campaign_id, done, delivery=delivery_id)
    return Result(True, "resolved", {"delivery": delivery_id, "done": done})
