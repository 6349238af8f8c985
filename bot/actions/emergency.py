"""The emergency stop: every dispatch is held until someone lifts it (a claim re-checks it in the same
statement, so nothing is sent after it commits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.actions.base import Actor, Context, Result, action
from bot.actions.errors import ActionError
from bot.outbox import workers
from bot.states import Audit, Role
from bot.store import audit
from bot.store.models import ControlRow


def control_row(session: Session) -> ControlRow:
    """The stop's row, locked (created by migration 0021; created here for a database whose row was deleted)."""
    row = session.get(ControlRow, 1, with_for_update=True)
    if row is None:
        row = ControlRow(id=1, paused_all=False)
        session.add(row)
        session.flush()
    return row


def _switch(ctx: Context, actor: Actor, reason: str | None, paused: bool) -> Result:
    actor.require(Role.STAFF)
    with ctx.sessions.begin() as session:
        if not switch_in(session, paused, ctx.clock.now(), actor.name, reason):
            return Result(False, "already_stopped" if paused else "not_stopped")
    return Result(True, "stopped" if paused else "stop_lifted")


def switch_in(session: Session, paused: bool, now: datetime, by: str, reason: str | None) -> bool:
    """Set or lift the stop in the caller's transaction (its row locked until it commits); False if it already
    was so."""
    row = control_row(session)
    if row.paused_all == paused:
        return False
    row.paused_all, row.reason, row.changed_by, row.changed_at = paused, reason, by, now
    if paused:  # what may be public already is read back (reading is not publishing): staff see what went out
        workers.flag_in_doubt(session.connection(), None, now, f"the emergency stop was set by {by} while this "
                              "post was in doubt (an earlier attempt may have gone out): reading the account back",
                              closings=None)
    audit.record(session, now, by, Audit.PAUSE_ALL if paused else Audit.RESUME_ALL, None, reason)
    return True


@action
def stop_everything(ctx: Context, actor: Actor, reason: str) -> Result:
    """Hold every dispatch; the reason is shown to everyone (status, the dashboard)."""
    if not reason or not reason.strip():
        raise ActionError("needs_reason", "reason")
    return _switch(ctx, actor, reason.strip(), True)


@action
def lift_stop(ctx: Context, actor: Actor) -> Result:
    return _switch(ctx, actor, None, False)
