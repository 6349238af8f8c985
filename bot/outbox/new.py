"""What a new delivery is: one row per post and account, built by the planner and the actions, inserted by the
outbox (bot/outbox/staff.py insert_planned). A NamedTuple: tens of thousands are built by a first plan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from bot.states import Action, Kind, Status

NO_MEDIA: list[dict[str, str]] = []
"""The media of a post without any, shared by every such row (never mutated)."""


class NewDelivery(NamedTuple):
    plan_key: str
    campaign_id: str
    account_id: str
    network: str
    kind: Kind
    language: str
    text: str
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    action: Action = Action.POST
    rule_id: str | None = None
    variant: int | None = None
    media: list[dict[str, str]] = NO_MEDIA
    reply_in_thread: bool = False
    status: Status = Status.PLANNED
    attempts: int = 0
    queued_by: str | None = None
    approval_id: int | None = None
    text_length: int | None = None
    """As ``length_for``'s network counts it (Network.measure): measured once, when the row is built."""
    length_for: str | None = None

    def values(self) -> dict[str, Any]:
        """The row as the INSERT takes it (enums as their stored strings)."""
        row = self._asdict()
        row["kind"], row["action"], row["status"] = str(self.kind), str(self.action), str(self.status)
        return row


def new_delivery(*, plan_key: str, campaign_id: str, account_id: str, network: str, kind: Kind, language: str,
                 text: str, due_at: datetime, now: datetime, rule_id: str | None = None, variant: int | None = None,
                 media: list[dict[str, str]] | None = None, reply_in_thread: bool = False,
                 queued_by: str | None = None, text_length: int | None = None) -> NewDelivery:
    """``text_length``: the text's length as ``network`` counts it (bot/networks/registry.py measured)."""
    return NewDelivery(plan_key, campaign_id, account_id, network, kind, language, text, due_at, now, now,
                       rule_id=rule_id, variant=variant, media=media or NO_MEDIA, reply_in_thread=reply_in_thread,
                       queued_by=queued_by, text_length=text_length,
                       length_for=network if text_length is not None else None)


_tuple_new = tuple.__new__
Made = tuple[str, int | None, list[dict[str, str]]]
"""A call to action's text, its length as the network counts it (or None), and its media."""


def planned_calls(campaign_id: str, account_id: str, network: str, language: str, now: datetime,
                  keys: Sequence[str], slots: Sequence[tuple[datetime, str]], variants: Sequence[int],
                  made: Sequence[Made]) -> list[NewDelivery]:
    """Planned calls to action of one account in one language, one per plan key, with its slot (due time,
    rule), variant and text: as ``NewDelivery(...)`` with these fields and the others' defaults would make them,
    built without the named tuple's keyword handling (a first plan builds 85,000: most of the cost of each)."""
    cta, post, planned = Kind.CALL_TO_ACTION, Action.POST, Status.PLANNED
    return [_tuple_new(NewDelivery, (key, campaign_id, account_id, network, cta, language, m[0], at, now, now, post,
                                     rule, variant, m[2], False, planned, 0, None, None, m[1],
                                     None if m[1] is None else network))
            for key, (at, rule), variant, m in zip(keys, slots, variants, made, strict=True)]
