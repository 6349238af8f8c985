"""A second staff member decides what waits for approval: posts an organiser queued (or anyone edited after an
approval) and closes. Four eyes compares people: whoever asked cannot decide, whatever their role, and an API
token acts as the person who created it."""

from __future__ import annotations

from bot.actions.base import Actor, Context, Result, action, campaign_row
from bot.actions.campaigns import close_in, parse_outcome
from bot.actions.errors import ActionError, Forbidden, NotFound
from bot.outbox import staff
from bot.states import ApprovalKind, Audit, CampaignState, Decision, Role
from bot.store import audit
from bot.store.access import ApprovalRow


@action
def decide(ctx: Context, actor: Actor, approval_id: int, approve: bool, reason: str | None = None) -> Result:
    """Approve or reject; a rejection's reason is kept and shown to whoever asked."""
    actor.require(Role.STAFF)
    now = ctx.clock.now()
    reason = (reason or "").strip() or None
    with ctx.sessions.begin() as session:
        a = session.get(ApprovalRow, approval_id, with_for_update=True)
        if a is None:
            raise NotFound("no_approval", "approval", approval=approval_id)
        if a.decision is not None:
            return Result(False, "already_decided", {"decision": a.decision, "by": a.decided_by})
        if a.requested_by == actor.name:
            raise Forbidden("four_eyes", requester=a.requested_by)
        decision = Decision.APPROVED if approve else Decision.REJECTED
        if a.kind == ApprovalKind.POST:
            if approve and campaign_row(session, a.campaign_id).state == CampaignState.CLOSED:
                raise ActionError("closed_no_approve", campaign=a.campaign_id)
            error = f"rejected by {actor.name}" + (f": {reason}" if reason else "")
            settled = staff.settle_approval(session.connection(), a.id, approve, now, None if approve else error)
            if approve and not settled:
                raise ActionError("approval_empty", approval=approval_id)
        a.decision, a.decided_by, a.decided_at, a.reason = decision, actor.name, now, reason
        audit.record(session, now, actor.name, Audit.APPROVE if approve else Audit.REJECT, a.campaign_id, reason,
                     approval=approval_id, kind=str(a.kind), requested_by=a.requested_by)
        if a.kind == ApprovalKind.POST:
            return Result(True, "approved_posts" if approve else "rejected_posts", {"requester": a.requested_by})
        if not approve:
            return Result(True, "rejected_close", {"requester": a.requested_by})
        details = a.details or {}
        note = f"{details.get('note') or ''} (requested by {a.requested_by}, approved by {actor.name})".strip()
        # In the same transaction: the approval and the close land together or not at all.
        closed = close_in(session, ctx.accounts, campaign_row(session, a.campaign_id, lock=True),
                          parse_outcome(str(details.get("outcome"))), now, actor.name, note)
        return Result(True, "approved_close", {"requester": a.requested_by, "closed": closed.message})
