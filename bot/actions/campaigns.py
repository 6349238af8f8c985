"""What staff do to a campaign: close it (its closing message goes out everywhere), pause, resume, reopen.

A close that needs a second staff member (the campaign's `close_approval`, else the web app's default) is only
requested here and happens when someone else approves it (bot/actions/approvals.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts.directory import AccountLookup
from bot.actions.base import NO_APPROVALS, Actor, Approvals, Context, Result, action, campaign_row
from bot.actions.errors import ActionError
from bot.campaigns.loader import LoadedCampaign
from bot.campaigns.schema import Message
from bot.outbox import staff, workers
from bot.planning.rows import message_rows
from bot.states import ApprovalKind, Audit, CampaignState, ErrorKind, Kind, Outcome, Role
from bot.store import audit
from bot.store.access import ApprovalRow
from bot.store.models import CampaignRow


def parse_outcome(value: str | Outcome) -> Outcome:
    outcome = value if isinstance(value, Outcome) else Outcome.parse(value)
    if outcome is None:
        raise ActionError("unknown_outcome", "outcome", value=value)
    return outcome


def needs_second_person(row: CampaignRow, default: bool, setting: str) -> bool:
    """The campaign file's `approval` / `close_approval` ("required" or "none"), else the default."""
    model = (row.definition or {}).get("campaign")
    chosen = model.get(setting) if isinstance(model, dict) else None
    return chosen == "required" if chosen in ("required", "none") else default


def close_in(session: Session, accounts: AccountLookup, row: CampaignRow, outcome: Outcome, now: datetime, by: str,
             note: str | None) -> Result:
    """Close inside the caller's transaction (an approved close request and a file set to closed use it too);
    ``row`` was read with a lock."""
    if row.state == CampaignState.CLOSED:
        when = row.state_changed_at.isoformat(timespec="minutes") if row.state_changed_at else "?"
        return Result(False, "already_closed", {"campaign": row.id, "outcome": row.outcome, "since": when,
                                                "by": row.state_changed_by})
    loaded = LoadedCampaign.from_definition(row.id, row.definition)
    message: Message = getattr(loaded.model.messages.closing, outcome.value)
    row.state, row.outcome = CampaignState.CLOSED, outcome
    row.close_seq += 1
    row.state_changed_at, row.state_changed_by, row.state_note = now, by, note
    conn = session.connection()
    # First what an earlier attempt may have published: it is read back (never cancelled while it may be public;
    # a closing message waits for the answer, to reply under it). Then the rest: error_kind "closed", so the
    # planner revives them if the campaign is reopened while they are still ahead.
    workers.flag_in_doubt(conn, row.id, now, f"campaign closed ({outcome}) by {by} while this post was in doubt "
                                             "(an earlier attempt may have gone out): reading the account back")
    cancelled = staff.cancel_unsent(conn, row.id, now, f"campaign closed ({outcome}) by {by}",
                                    closes=True, error_kind=ErrorKind.CLOSED)
    rows = message_rows(accounts, loaded, message, kind=Kind.CLOSING, key=f"{row.id}|closing|{row.close_seq}",
                        due_at=now, now=now, reply_in_thread=True)
    staff.insert_planned(conn, rows)
    audit.record(session, now, by, Audit.CLOSE, row.id, note, outcome=str(outcome), cancelled=cancelled,
                 closing_messages=len(rows))
    return Result(True, "closed", {"campaign": row.id, "outcome": str(outcome), "cancelled": cancelled,
                                   "messages": len(rows)})


@action
def close(ctx: Context, actor: Actor, campaign_id: str, outcome: str | Outcome, note: str | None = None,
          approvals: Approvals = NO_APPROVALS) -> Result:
    """Close the campaign now, or, where a second staff member must agree, ask for it."""
    actor.require(Role.STAFF)
    chosen = parse_outcome(outcome)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        row = campaign_row(session, campaign_id, lock=True)
        if row.state != CampaignState.CLOSED and needs_second_person(row, approvals.closes, "close_approval"):
            return _request_close(session, row, chosen, now, actor, note)
        return close_in(session, ctx.accounts, row, chosen, now, actor.name, note)


def _request_close(session: Session, row: CampaignRow, outcome: Outcome, now: datetime, actor: Actor,
                   note: str | None) -> Result:
    waiting = session.scalars(select(ApprovalRow).where(ApprovalRow.campaign_id == row.id,
                                                        ApprovalRow.kind == ApprovalKind.CLOSE,
                                                        ApprovalRow.decision.is_(None))).first()
    if waiting is not None:
        return Result(False, "close_waiting", {"campaign": row.id, "requester": waiting.requested_by})
    session.add(ApprovalRow(kind=ApprovalKind.CLOSE, campaign_id=row.id, requested_by=actor.name, requested_at=now,
                            details={"outcome": str(outcome), "note": note}))
    audit.record(session, now, actor.name, Audit.REQUEST_CLOSE, row.id, note, outcome=str(outcome))
    return Result(True, "close_requested", {"campaign": row.id, "outcome": str(outcome)})


_STATE_CHANGES: dict[Audit, tuple[tuple[CampaignState, ...], CampaignState]] = {
    Audit.PAUSE: ((CampaignState.ACTIVE,), CampaignState.PAUSED),
    Audit.RESUME: ((CampaignState.PAUSED,), CampaignState.ACTIVE),
    Audit.REOPEN: ((CampaignState.CLOSED,), CampaignState.ACTIVE),
}


def set_state_in(session: Session, row: CampaignRow, change: Audit, now: datetime, by: str,
                 note: str | None) -> Result:
    """pause, resume or reopen, inside the caller's transaction (``row`` read with a lock)."""
    allowed, target = _STATE_CHANGES[change]
    if row.state not in allowed:
        return Result(False, "state_unchanged", {"campaign": row.id, "state": row.state, "action": str(change)})
    cancelled = 0
    if change == Audit.PAUSE:  # nothing of it may be sent now: what may be public already is read back
        workers.flag_in_doubt(session.connection(), row.id, now, f"campaign paused by {by} while this post was in "
                              "doubt (an earlier attempt may have gone out): reading the account back")
    if change == Audit.REOPEN:
        row.outcome = None
        conn = session.connection()
        workers.flag_in_doubt(conn, row.id, now, f"campaign reopened by {by} while its closing message was in "
                                                 "doubt (an earlier attempt may have gone out): reading the account "
                                                 "back", closings=True)
        cancelled = staff.cancel_unsent(conn, row.id, now, f"campaign reopened by {by}", only_kind=Kind.CLOSING,
                                        error_kind=ErrorKind.CLOSED)
    row.state = target
    row.state_changed_at, row.state_changed_by, row.state_note = now, by, note
    row.planned_hash = None  # re-plan from now on
    audit.record(session, now, by, change, row.id, note, cancelled=cancelled or None)
    return Result(True, "state_changed", {"campaign": row.id, "state": str(target), "action": str(change)})


def _set_state(ctx: Context, actor: Actor, campaign_id: str, change: Audit, note: str | None) -> Result:
    actor.require(Role.STAFF)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        return set_state_in(session, campaign_row(session, campaign_id, lock=True), change, now, actor.name, note)


@action
def pause(ctx: Context, actor: Actor, campaign_id: str, note: str | None = None) -> Result:
    return _set_state(ctx, actor, campaign_id, Audit.PAUSE, note)


@action
def resume(ctx: Context, actor: Actor, campaign_id: str, note: str | None = None) -> Result:
    return _set_state(ctx, actor, campaign_id, Audit.RESUME, note)


@action
def reopen(ctx: Context, actor: Actor, campaign_id: str, note: str | None = None) -> Result:
    """Reopen a closed campaign; its closing messages not sent yet are cancelled."""
    return _set_state(ctx, actor, campaign_id, Audit.REOPEN, note)
