"""The outbox: the only code that changes a delivery's state.

What is due (bot.outbox.tick), claim (bot.outbox.claim), record an outcome under the lease
(bot.outbox.record), free what a dead worker held (bot.outbox.workers), rate budgets (bot.outbox.budgets),
and what people and the planner do (bot.outbox.staff). Every function takes the connection to work on; the
caller owns the transaction.
What to record after a network call is decided by the pure bot.outbox.policy.
"""

from bot.outbox.staff import cancel_unsent, insert_planned, revive, update_planned
from bot.states import Action, ErrorKind, Kind, Status

__all__ = ["Action", "ErrorKind", "Kind", "Status", "cancel_unsent", "insert_planned", "revive", "update_planned"]
