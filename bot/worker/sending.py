"""Around a send's network call (bot/worker/dispatch.py): which adapter method performs an action, the length
the account's network counts, whether a retry in doubt reads the account back first, and the log line each
outcome gets."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.networks.base import Booster, Network, Post, Published
from bot.outbox.claim import Claimed
from bot.outbox.policy import Answer, Decision, key_may_be_forgotten
from bot.outbox.tables import human
from bot.states import Action, Status
from bot.worker import recovery
from bot.worker.runtime import Runtime

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


def read_before_resend(rt: Runtime, net: Network, c: Claimed,
                       post: Post) -> tuple[Answer, str, Published | None] | None:
    """A retry of a post in doubt that may come after its network forgot the key (policy.key_may_be_forgotten:
    Mastodon keeps it an hour) would post a second time: the account is read back first. None: send it (not
    such a retry, or the account shows it surely did not go out). Else what to record instead of sending:
    found (published); the account could not be read (transient: tried again later, still in doubt); the
    account cannot tell (not resent: a person decides)."""
    memory = net.key_memory
    if not c.in_doubt or c.action != Action.POST or not key_may_be_forgotten(memory, c.due_at, rt.clock.now()):
        return None
    assert memory is not None
    seen = recovery.settle(rt, c.account_id, post, c.action)
    if seen is None:
        return (Answer.TRANSIENT, "the account could not be read back before sending again (an earlier attempt "
                f"may have gone out, and {net.kind} forgets a retry's key after {human(memory)})", None)
    if seen.published is not None:
        return Answer.PUBLISHED, "", seen.published
    if seen.certain:
        return None
    return (Answer.NOT_RESENT, f"not sent again: an earlier attempt may have gone out, {net.kind} forgets a retry's "
            f"key after {human(memory)}, and the account cannot tell whether the post is there", None)


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
