"""Supporters' boosts: the outbox writes them, like every delivery row.

plan_waves (called after the dispatch tick, never from the record-outcome path) finds the organisation's
posts that were published and have no wave yet, and plans one boost per connected supporter who chose the
campaign, in ONE set-based INSERT ... SELECT per statement kind, inside one transaction that also marks the
wave planned. The boost's plan_key ``boost:<delivery id>:<account id>`` is unique, so a second planner, a
restart or a kill -9 mid-wave never plans (nor, through the claim's lease, sends) a boost twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, update

from bot.outbox.enums import Action, ErrorKind, Status
from bot.outbox.tables import DELIVERIES

D = DELIVERIES.c


def cancel_boosts(conn: Connection, account_id: str, now: datetime, reason: str) -> int:
    """A supporter disconnected (or their grant was revoked): their planned boosts and unboosts are cancelled
    now. What is in flight is left to its worker, which finds no credentials and records it failed."""
    res = conn.execute(update(DELIVERIES)
                       .where(D.account_id == account_id, D.status == Status.PLANNED,
                              D.action.in_((Action.BOOST, Action.UNBOOST)))
                       .values(status=Status.CANCELLED, error=reason, error_kind=ErrorKind.AUTH_REVOKED,
                               updated_at=now))
    return res.rowcount or 0
