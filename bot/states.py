"""The words of delivery state, defined once. StrEnum members compare equal to the strings stored in the
database, so rows read back as plain strings still match them."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"
    MISSED = "missed"
    UNKNOWN = "unknown"
    AWAITING_APPROVAL = "awaiting_approval"  # queued by an organiser; a staff member approves it (web app)


class Kind(StrEnum):
    CALL_TO_ACTION = "call_to_action"
    CLOSING = "closing"
    UPDATE = "update"
    QUEUED = "queued"


class Action(StrEnum):
    """What an account does for a delivery. Only `post` is performed today; supporters' accounts will
    `boost` (reblog/repost) the organisation's posts and `unboost` them."""

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
    OUTCOME_UNKNOWN = "outcome_unknown"
    LEASE_EXPIRED = "lease_expired"
    RESOLVED = "resolved"
    CANCELLED_BY_HAND = "cancelled_by_hand"  # `campaign-bot cancel`: never revived by the planner
    REJECTED = "rejected"  # a post awaiting approval that a staff member rejected
    UNSUPPORTED = "unsupported"


FINAL = frozenset({Status.SENT, Status.CANCELLED, Status.FAILED, Status.MISSED})
"""Statuses nothing changes any more (unknown waits for a person; resolve settles it)."""
