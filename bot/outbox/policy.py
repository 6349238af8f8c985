"""What to record after a network call: a pure function, table-tested without a database.

The dispatcher turns what the network said into an `Answer`; `decide` maps it, with the attempt count and
whether the network is idempotent, to the `Decision` the outbox records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.states import ErrorKind, Status

UNKNOWN_COOLDOWN = timedelta(seconds=60)  # an account waits after an unknown outcome on a non-idempotent network
MISCONFIGURED_RETRY = timedelta(seconds=60)  # a missing secret is looked for again about once a minute
RATE_LIMIT_DEFAULT = timedelta(seconds=60)  # a 429 without a reset time


class Answer(StrEnum):
    PUBLISHED = "published"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    TOO_LONG = "too_long"
    AUTH_REVOKED = "auth_revoked"
    MISCONFIGURED = "misconfigured"
    OUTCOME_UNKNOWN = "outcome_unknown"
    UNEXPECTED = "unexpected"  # an adapter bug: classified conservatively
    UNSUPPORTED = "unsupported"  # the adapter does not perform this action
    NOT_RESENT = "not_resent"  # in doubt, its key forgotten by the network, and its account cannot tell: not sent


class Hold(StrEnum):
    """What happens to the account (its other posts wait)."""

    RATE_LIMITED = "rate_limited"
    DISABLED = "disabled"
    MISCONFIGURED = "misconfigured"
    COOLDOWN = "cooldown"


@dataclass(frozen=True)
class Retry:
    base_seconds: float
    max_seconds: float
    max_attempts: int


@dataclass(frozen=True)
class Decision:
    status: Status
    error_kind: ErrorKind | None = None
    error: str | None = None
    not_before: datetime | None = None
    refund: bool = False
    """The attempt did not count (the post surely did not reach the network)."""
    hold: Hold | None = None
    hold_until: datetime | None = None
    maybe_sent: bool = False
    """The post may exist: if its campaign closed meanwhile it is `unknown`, never cancelled or resent."""
    read_back: bool = False
    """`unknown`, and the worker reads the account back (bot/worker/recovery.py) before a person is asked."""

    @property
    def stops_account(self) -> bool:
        return self.hold is not None


KEY_MARGIN = timedelta(minutes=10)
"""Taken off a network's key memory: our clock and the server's may differ."""


def key_may_be_forgotten(memory: timedelta | None, due_at: datetime, now: datetime) -> bool:
    """Whether a retry of a post in doubt may come after the network forgot its key (``memory``): measured from
    when the post was due, which no attempt precedes (a late retry is read back first; one read too many is
    the price of needing no record of when the doubt began)."""
    return memory is not None and now - due_at >= memory - KEY_MARGIN


def backoff(retry: Retry, attempts: int, jitter: float) -> timedelta:
    """Exponential, capped, with ``jitter`` in [0, 1) taking off up to half."""
    base = retry.base_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(retry.max_seconds, base) * (0.5 + jitter / 2))


def decide(answer: Answer, error: str, *, delivery_id: int, idempotent: bool, attempts: int, retry: Retry,
           now: datetime, jitter: float = 0.0, until: datetime | None = None) -> Decision:
    """``attempts`` counts this one. ``until``: when a rate limit resets, if the network said."""
    if answer is Answer.PUBLISHED:
        return Decision(Status.SENT)
    if answer is Answer.RATE_LIMITED:
        reset = until or now + RATE_LIMIT_DEFAULT
        return Decision(Status.PLANNED, ErrorKind.RATE_LIMITED,
                        f"rate limited until {reset.isoformat(timespec='seconds')}: {error}", not_before=reset,
                        refund=True, hold=Hold.RATE_LIMITED, hold_until=reset)
    if answer is Answer.AUTH_REVOKED:
        return Decision(Status.PLANNED, ErrorKind.AUTH_REVOKED, f"account disabled: {error}", refund=True,
                        hold=Hold.DISABLED)
    if answer is Answer.MISCONFIGURED:
        return Decision(Status.PLANNED, ErrorKind.MISCONFIGURED, f"account misconfigured: {error}", refund=True,
                        hold=Hold.MISCONFIGURED, hold_until=now + MISCONFIGURED_RETRY)
    if answer in (Answer.PERMANENT, Answer.TOO_LONG, Answer.UNSUPPORTED):
        kind = ErrorKind.UNSUPPORTED if answer is Answer.UNSUPPORTED else ErrorKind.PERMANENT
        return Decision(Status.FAILED, kind, error)
    if answer is Answer.NOT_RESENT:  # nothing was sent now; the earlier attempt may be public: a person checks
        return Decision(Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN,
                        f"{error}: check the account, then `campaign-bot resolve {delivery_id} --sent URL` or "
                        "`--not-sent`", maybe_sent=True)
    maybe_sent = answer in (Answer.OUTCOME_UNKNOWN, Answer.UNEXPECTED)
    if maybe_sent and not idempotent:
        return Decision(Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN,
                        f"{error}; the post may or may not exist: check the account, then "
                        f"`campaign-bot resolve {delivery_id} --sent URL` or `--not-sent`",
                        hold=Hold.COOLDOWN, hold_until=now + UNKNOWN_COOLDOWN, maybe_sent=True)
    if answer is Answer.OUTCOME_UNKNOWN:
        error = f"outcome unknown, retrying safely: {error}"
    kind = ErrorKind.IN_DOUBT if maybe_sent else ErrorKind.TRANSIENT  # in doubt: a close reads it back first
    if attempts >= retry.max_attempts and maybe_sent:  # the last attempt may have gone out: never "failed"
        return Decision(Status.UNKNOWN, ErrorKind.OUTCOME_UNKNOWN,
                        f"gave up after {attempts} attempts, the last of which may have gone out ({error}): reading "
                        "the account back", maybe_sent=True, read_back=True)
    if attempts >= retry.max_attempts:
        return Decision(Status.FAILED, ErrorKind.TRANSIENT, f"gave up after {attempts} attempts: {error}")
    return Decision(Status.PLANNED, kind, error, not_before=now + backoff(retry, attempts, jitter),
                    maybe_sent=maybe_sent)
