"""An admin enables an account the dispatcher disabled when its network refused its credentials (after a person
fixed them)."""

from __future__ import annotations

from bot.actions.base import Actor, Context, Result, action
from bot.states import Audit, Role
from bot.store import audit
from bot.store.models import AccountStateRow


@action
def enable_account(ctx: Context, actor: Actor, account_id: str) -> Result:
    actor.require(Role.ADMIN)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        row = session.get(AccountStateRow, account_id, with_for_update=True)
        if row is None or not row.disabled:
            return Result(False, "account_not_disabled", {"account": account_id})
        row.disabled, row.disabled_reason, row.disabled_at = False, None, None
        row.updated_at = now
        audit.record(session, now, actor.name, Audit.ENABLE_ACCOUNT, None, account_id)
    return Result(True, "account_enabled", {"account": account_id})
