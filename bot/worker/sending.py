"""Around a send's network call (bot/worker/dispatch.py): which adapter method performs an action, the length
the account's network counts, and the log line each outcome gets."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.networks.base import Booster, Network, Post, Published
from bot.outbox.claim import Claimed
from bot.outbox.policy import Answer, Decision
from bot.states import Action, Status

log = logging.getLogger("bot.worker.dispatch")  # the dispatcher's lines, as they always were


def performer(net: Network, action: str) -> Callable[[Post], Published] | None:
    """The adapter's method for the action: posting, or boosting where the adapter declares it can
    (bot/networks/base.py Booster)."""
    if action == Action.POST:
        return net.publish
    if isinstance(net, Booster):
        return net.boost if action == Action.BOOST else net.unboost if action == Action.UNBOOST else None
    return None


def stored_length(net: Network, c: Claimed, post: Post) -> int:
    """The length stored when the row was planned or edited, if measured the way this account counts (else
    measured now)."""
    if c.text_length is not None and c.length_for is not None and c.length_for == net.measured_as:
        return c.text_length
    return net.length(post.text)


def log_outcome(c: Claimed, answer: Answer, d: Decision, published: Published | None) -> None:
    if d.status == Status.SENT:
        where = (published.url or published.remote_id) if published else "?"
        what = str(c.kind).replace("_", " ") + ("" if c.action == Action.POST else f" ({c.action})")
        log.info("sent: %s of %s, from %s: %s", what, c.campaign_id, c.account_id, where)
        return
    if d.status == Status.FAILED:
        log.error("delivery %s failed: %s", c.id, d.error)
    elif d.status == Status.UNKNOWN:
        log.error("delivery %s: outcome unknown, flagged for a person: %s", c.id, d.error)
    elif answer is Answer.MISCONFIGURED:
        log.error("account %s held as misconfigured (retried about once a minute): %s", c.account_id, d.error)
    elif answer is Answer.AUTH_REVOKED:
        log.error("account %s disabled, its credentials were refused: %s", c.account_id, d.error)
    elif answer is Answer.RATE_LIMITED:
        log.warning("account %s rate limited until %s", c.account_id, d.hold_until)
    else:
        log.warning("delivery %s: %s; retry at %s", c.id, d.error, d.not_before)
