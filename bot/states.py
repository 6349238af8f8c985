"""The words of state, defined once: a delivery's status, kind and action, a campaign's state and outcome, a
person's role, what an approval is about and how it ended, what the audit log records.

StrEnum members compare equal to the strings stored in the database, so rows read back as plain strings still
match them; no module compares a state with a string literal (tests/test_layout.py checks it).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A delivery's status."""

    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"
    MISSED = "missed"
    UNKNOWN = "unknown"
    AWAITING_APPROVAL = "awaiting_approval"  # queued by an organiser; another staff member approves it


class Kind(StrEnum):
    CALL_TO_ACTION = "call_to_action"
    CLOSING = "closing"
    UPDATE = "update"
    QUEUED = "queued"


class Action(StrEnum):
    """What an account does for a delivery: the organisation posts; supporters' accounts boost the
    organisation's posts and, when asked, take the boost back."""

    POST = "post"
    BOOST = "boost"
    UNBOOST = "unboost"


class ErrorKind(StrEnum):
    MISSED = "missed"
    CANCELLED = "cancelled"
    CLOSED = "closed"  # cancelled by a close: the planner may revive it if the campaign is reopened
    UNSCHEDULED = "unscheduled"
    HELD = "held"
    RATE_LIMITED = "rate_limited"
    BUDGET = "budget"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    AUTH_REVOKED = "auth_revoked"
    MISCONFIGURED = "misconfigured"
    OUTCOME_UNKNOWN = "outcome_unknown"  # unknown: read back by the worker while not_before is set, else a person's
    IN_DOUBT = "in_doubt"  # planned again, though an earlier attempt may have gone out: a close reads it back first
    LEASE_EXPIRED = "lease_expired"
    RESOLVED = "resolved"
    CANCELLED_BY_HAND = "cancelled_by_hand"  # a person cancelled it: never revived by the planner
    REJECTED = "rejected"  # a post awaiting approval that a staff member rejected
    UNSUPPORTED = "unsupported"


FINAL = frozenset({Status.SENT, Status.CANCELLED, Status.FAILED, Status.MISSED})
"""Statuses nothing changes any more (unknown waits for a person; resolve settles it)."""
UNSENT = (Status.PLANNED, Status.AWAITING_APPROVAL)
"""What a person may still cancel or change: nothing of it has reached a network."""


class Settlement(StrEnum):
    """What a person found when they checked an account for a post whose outcome was unknown (or that failed)."""

    SENT = "sent"  # it is there: its address is given
    RESEND = "resend"  # it is not: send it again
    CANCEL = "cancel"  # it is not, and it must not go out


class CampaignState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class Outcome(StrEnum):
    """How a case ended: which closing message a close posts."""

    SUCCESS = "success"
    NO_FURTHER_ACTION = "no_further_action"

    @classmethod
    def parse(cls, value: str) -> Outcome | None:
        """``no-further-action`` and ``no_further_action`` alike; None for anything else."""
        try:
            return cls(value.strip().replace("-", "_"))
        except ValueError:
            return None


class Role(StrEnum):
    """Each role can do everything the ones before it can."""

    ORGANISER = "organiser"
    STAFF = "staff"
    ADMIN = "admin"

    def covers(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


class ApprovalKind(StrEnum):
    POST = "post"
    CLOSE = "close"


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class SupporterState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class Audit(StrEnum):
    """What the audit log records (its ``action`` column)."""

    LOAD = "load"
    RELOAD = "reload"
    QUEUE = "queue"
    EDIT = "edit"
    CANCEL = "cancel"
    RESOLVE = "resolve"
    CLOSE = "close"
    REQUEST_CLOSE = "request_close"
    PAUSE = "pause"
    RESUME = "resume"
    REOPEN = "reopen"
    PAUSE_ALL = "pause_all"
    RESUME_ALL = "resume_all"
    APPROVE = "approve"
    REJECT = "reject"
    ENABLE_ACCOUNT = "enable_account"
    USER_ADD = "user_add"
    USER_REMOVE = "user_remove"
    USER_SET_ROLE = "user_set_role"
    USER_SET_PASSWORD = "user_set_password"
    USER_SET_LANGUAGE = "user_set_language"
    USER_PASSWORD_LINK = "user_password_link"
    TOKEN_CREATE = "token_create"
    SIGN_IN = "sign_in"
    SUPPORTER_CONNECTED = "supporter_connected"
    SUPPORTER_RECONNECTED = "supporter_reconnected"
    SUPPORTER_CAMPAIGNS = "supporter_campaigns"
    SUPPORTER_DISCONNECTED = "supporter_disconnected"
    SUPPORTER_UNDO = "supporter_undo"
