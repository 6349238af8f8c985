"""Staff actions: close, pause, resume, reopen, the emergency stop, and queueing an extra post.

Each runs in one transaction and writes the audit log. They work whether or not a daemon runs: the daemon
reads the database, so it sees the change on its next tick.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.campaigns.loader import LoadedCampaign, did_you_mean
from bot.campaigns.schema import Message
from bot.campaigns.templates import TemplateError
from bot.campaigns.validate import check_text
from bot.errors import NotFound, UserError
from bot.outbox import staff
from bot.planning.rows import CLOSING, QUEUED, message_rows
from bot.states import ErrorKind, Status
from bot.store import audit
from bot.store.models import CampaignRow, ControlRow

if TYPE_CHECKING:
    from bot.bootstrap import App

OUTCOMES = ("success", "no_further_action")


@dataclass(frozen=True)
class Result:
    changed: bool
    message: str


def campaign_row(session: Session, campaign_id: str, *, lock: bool = False) -> CampaignRow:
    stmt = select(CampaignRow).where(CampaignRow.id == campaign_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        known = session.scalars(select(CampaignRow.id)).all()
        raise NotFound(f"no campaign {campaign_id!r}{did_you_mean(campaign_id, known)}"
                       " (campaigns are known once loaded: run `campaign-bot validate` or `plan`)")
    return row


def normalise_outcome(outcome: str) -> str:
    value = outcome.replace("-", "_")
    if value not in OUTCOMES:
        raise UserError(f"unknown outcome {outcome!r}: use success or no-further-action")
    return value


def _cancel_unsent(session: Session, campaign_id: str, now: datetime, reason: str, kinds_except: str | None,
                   only_kind: str | None = None) -> int:
    # error_kind "closed": the planner revives these if the campaign is reopened while they are still ahead.
    return staff.cancel_unsent(session.connection(), campaign_id, now, reason, kinds_except=kinds_except,
                               only_kind=only_kind, error_kind=ErrorKind.CLOSED)


def close_in(session: Session, app: App, campaign_id: str, outcome: str, now: datetime, by: str,
             note: str | None) -> Result:
    """Close inside the caller's transaction (the planner uses this when a file says status = "closed")."""
    outcome = normalise_outcome(outcome)
    row = campaign_row(session, campaign_id, lock=True)
    if row.state == "closed":
        when = row.state_changed_at.isoformat(timespec="minutes") if row.state_changed_at else "?"
        return Result(False, f"{campaign_id} is already closed ({row.outcome}) since {when} by "
                             f"{row.state_changed_by}; nothing changed")
    loaded = LoadedCampaign.from_definition(row.id, row.definition)
    message: Message = getattr(loaded.model.messages.closing, outcome)
    row.state, row.outcome = "closed", outcome
    row.close_seq += 1
    row.state_changed_at, row.state_changed_by, row.state_note = now, by, note
    cancelled = _cancel_unsent(session, campaign_id, now, f"campaign closed ({outcome}) by {by}", CLOSING)
    rows = message_rows(app, loaded, message, kind=CLOSING, key=f"{campaign_id}|closing|{row.close_seq}",
                        due_at=now, now=now, reply_in_thread=True)
    staff.insert_planned(session.connection(), rows)
    audit.record(session, now, by, "close", campaign_id, note, outcome=outcome, cancelled=cancelled,
                 closing_messages=len(rows))
    return Result(True, f"closed {campaign_id} ({outcome}): cancelled {cancelled} pending post(s), "
                        f"queued {len(rows)} closing message(s)")


def close(app: App, campaign_id: str, outcome: str, by: str, note: str | None = None) -> Result:
    now = app.clock.now()
    with app.sessions.begin() as session:
        return close_in(session, app, campaign_id, outcome, now, by, note)


def set_state_in(session: Session, campaign_id: str, action: str, now: datetime, by: str,
                 note: str | None) -> Result:
    """pause, resume or reopen, inside the caller's transaction."""
    row = campaign_row(session, campaign_id, lock=True)
    allowed = {"pause": ("active",), "resume": ("paused",), "reopen": ("closed",)}[action]
    target = {"pause": "paused", "resume": "active", "reopen": "active"}[action]
    if row.state not in allowed:
        return Result(False, f"{campaign_id} is {row.state}; {action} changes nothing")
    cancelled = 0
    if action == "reopen":
        row.outcome = None
        cancelled = _cancel_unsent(session, campaign_id, now, f"campaign reopened by {by}", None, CLOSING)
    row.state = target
    row.state_changed_at, row.state_changed_by, row.state_note = now, by, note
    row.planned_hash = None  # re-plan from now on
    audit.record(session, now, by, action, campaign_id, note, cancelled=cancelled or None)
    return Result(True, f"{action}: {campaign_id} is now {target}")


def set_state(app: App, campaign_id: str, action: str, by: str, note: str | None = None) -> Result:
    now = app.clock.now()
    with app.sessions.begin() as session:
        return set_state_in(session, campaign_id, action, now, by, note)


def control_row(session: Session) -> ControlRow:
    row = session.get(ControlRow, 1)
    if row is None:
        row = ControlRow(id=1, paused_all=False)
        session.add(row)
        session.flush()
    return row


def pause_all(app: App, by: str, reason: str | None, paused: bool) -> Result:
    now = app.clock.now()
    with app.sessions.begin() as session:
        row = control_row(session)
        if row.paused_all == paused:
            return Result(False, "everything is already " + ("paused" if paused else "running") + "; nothing changed")
        row.paused_all, row.reason, row.changed_by, row.changed_at = paused, reason, by, now
        audit.record(session, now, by, "pause_all" if paused else "resume_all", None, reason)
    return Result(True, "EMERGENCY STOP: every dispatch is held" if paused else "resumed: dispatch runs again")


def parse_when(value: str, now: datetime) -> datetime:
    if value.strip().lower() == "now":
        return now
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--at {value!r}: use an ISO 8601 time with offset, like 2026-12-01T09:00-05:00, or now")\
            from None
    if when.tzinfo is None:
        raise UserError(f"--at {value!r}: needs a UTC offset, like 2026-12-01T09:00-05:00 (or Z)")
    return when


def queue(app: App, campaign_id: str, when: datetime, text: str, by: str,
          account: str | None = None, language: str | None = None) -> Result:
    with app.sessions.begin() as session:
        _, count = queue_in(session, app, campaign_id, when, text, by, account, language)
    return Result(True, f"queued {count} post(s) for {campaign_id} at {when.isoformat(timespec='seconds')}")


def queue_in(session: Session, app: App, campaign_id: str, when: datetime, text: str, by: str,
             account: str | None = None, language: str | None = None, *,
             awaiting_approval: bool = False) -> tuple[str, int]:
    """Queue an extra post inside the caller's transaction: checked like a message in a campaign file, one row
    per account, audited. Returns its plan-key prefix and how many rows; ``awaiting_approval``: the rows wait
    for a staff member (the web app's approvals) instead of being planned."""
    now = app.clock.now()
    row = campaign_row(session, campaign_id)
    if row.state == "closed":
        raise UserError(f"{campaign_id} is closed ({row.outcome}): no more posts are queued; "
                        "`campaign-bot reopen` first if the case is open again")
    loaded = LoadedCampaign.from_definition(row.id, row.definition)
    lang = language or loaded.model.languages[0]
    if lang not in loaded.model.languages:
        raise UserError(f"--language {lang!r}: the campaign posts in {', '.join(loaded.model.languages)}")
    accounts = loaded.model.accounts
    if account is not None:
        if account not in accounts:
            raise UserError(f"--account {account!r} does not post this campaign{did_you_mean(account, accounts)}"
                            f" (its accounts: {', '.join(accounts)})")
        accounts = [account]
    key = f"{campaign_id}|queued|{uuid.uuid4().hex}"
    try:
        rows = message_rows(app, loaded, Message(text={lang: text}), kind=QUEUED, key=key, due_at=when, now=now,
                            reply_in_thread=False, accounts=accounts, languages=[lang], queued_by=by)
    except TemplateError as exc:
        raise UserError(f"--text: {exc}") from None
    problems = [str(i) for r in rows for i in check_text("--text", "", r["text"], r["network"], lang)]
    if problems:
        raise UserError(problems[0])
    if not rows:
        raise UserError(f"none of the accounts {', '.join(accounts)} posts in {lang!r}")
    if awaiting_approval:
        for r in rows:
            r["status"] = Status.AWAITING_APPROVAL
    staff.insert_planned(session.connection(), rows)
    audit.record(session, now, by, "queue", campaign_id, text, due_at=when.isoformat(), posts=len(rows),
                 **({"awaiting_approval": True} if awaiting_approval else {}))
    return key, len(rows)


def resolve(app: App, delivery_id: int, by: str, *, sent_url: str | None = None,
            resend: bool = False) -> Result:
    """A person settles a delivery whose outcome was unknown (or that failed) after checking the account."""
    now = app.clock.now()
    with app.sessions.begin() as session:
        conn = session.connection()
        campaign_id = staff.campaign_of(conn, delivery_id)
        closed = campaign_id is not None and campaign_row(session, campaign_id).state == "closed"
        campaign_id, action = staff.resolve(conn, delivery_id, now, by, sent_url=sent_url, resend=resend,
                                            campaign_closed=closed)
        audit.record(session, now, by, "resolve", campaign_id, action, delivery=delivery_id)
    return Result(True, f"delivery {delivery_id} {action}")


# -- cancelling and editing one post by hand (`campaign-bot cancel` / `edit`) ------------------------------

PAST_TOLERANCE_SECONDS = 60
"""A time typed to the minute is still "now" for this long; anything earlier is refused."""


def human_duration(delta: timedelta) -> str:
    """A duration as people say it: "45 seconds", "12 minutes", "5 hours", "6 days"."""
    seconds = abs(int(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size or (unit == "minute" and seconds >= size):
            n = round(seconds / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def parse_future(value: str, now: datetime) -> datetime:
    """Like parse_when, and a time already past is refused (`now` stays accepted)."""
    when = parse_when(value, now)
    if when < now - timedelta(seconds=PAST_TOLERANCE_SECONDS):
        raise UserError(f"--at {value}: that was {human_duration(now - when)} ago; give a time to come, or now")
    return when


def cancel_delivery(app: App, delivery_id: int, by: str, note: str | None = None) -> Result:
    """Cancel one post that has not gone out: a queued post, a planned call to action, an update or a closing
    message. The planner never brings it back (its error_kind is not one it revives)."""
    now = app.clock.now()
    with app.sessions.begin() as session:
        conn = session.connection()
        d = staff.pending(conn, delivery_id)
        staff.cancel_one(conn, delivery_id, now, f"cancelled by {by}" + (f": {note}" if note else ""))
        audit.record(session, now, by, "cancel", d.campaign_id, note, delivery=delivery_id, kind=d.kind,
                     account=d.account_id, due_at=d.due_at.isoformat())
    return Result(True, f"delivery {delivery_id} cancelled ({d.kind}, {d.campaign_id}, {d.account_id})")


def edit_delivery(app: App, delivery_id: int, by: str, text: str | None = None,
                  at: datetime | None = None) -> Result:
    """Change a queued post's text or time before it goes out, validated like `queue`."""
    if text is None and at is None:
        raise UserError("edit: give --text, --at or both")
    now = app.clock.now()
    with app.sessions.begin() as session:
        conn = session.connection()
        d = staff.pending(conn, delivery_id)
        if d.kind != QUEUED:
            raise UserError(f"delivery {delivery_id} is a {d.kind.replace('_', ' ')}; only queued posts are edited "
                            "(change the campaign file, or `campaign-bot cancel` it)")
        if d.status not in staff.UNSENT:
            raise UserError(f"delivery {delivery_id} is {d.status}; only a queued post not yet sent is edited")
        changes: dict[str, str] = {}
        rendered_text: str | None = None
        if text is not None:
            row = campaign_row(session, d.campaign_id)
            loaded = LoadedCampaign.from_definition(row.id, row.definition)
            try:
                rows = message_rows(app, loaded, Message(text={d.language: text}), kind=QUEUED, key="edit",
                                    due_at=d.due_at, now=now, reply_in_thread=False, accounts=[d.account_id],
                                    languages=[d.language])
            except TemplateError as exc:
                raise UserError(f"--text: {exc}") from None
            if not rows:
                raise UserError(f"delivery {delivery_id}: account {d.account_id} no longer posts in {d.language}")
            rendered = rows[0]
            problems = check_text("--text", "", rendered["text"], rendered["network"], d.language)
            if problems:
                raise UserError(str(problems[0]))
            rendered_text, changes["text"] = rendered["text"], text
        if at is not None:
            if at < now - timedelta(seconds=PAST_TOLERANCE_SECONDS):
                raise UserError(f"--at: that was {human_duration(now - at)} ago; give a time to come, or now")
            changes["due_at"] = at.isoformat()
        staff.edit_queued(conn, delivery_id, now, text=rendered_text, due_at=at)
        audit.record(session, now, by, "edit", d.campaign_id, None, delivery=delivery_id, **changes)
    return Result(True, f"delivery {delivery_id} edited: {', '.join(changes)}")
