"""Deadlines: an urgent action's `act_by`, the days left before it, and the rules that follow it.

Pure functions of the campaign model and a date, so the planner, validate and the templates agree on them.
Calls to action stop at `act_by`; the campaign stays open (only staff close a case).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from babel.core import Locale

    from bot.campaigns.schema import Campaign, Rule

# A bare "en" is written the international way ("5 December"); "en-US" gives "December 5".
_DEFAULT_LOCALE = {"en": "en_001"}


def days_left(act_by: date, on: date) -> int:
    """Whole days from ``on`` to the deadline's date: 0 on the day itself, never negative."""
    return max(0, (act_by - on).days)


def rule_active_on(rule: Rule, local_date: date, act_by: date | None) -> bool:
    """Whether ``rule`` posts on ``local_date`` (the campaign's zone) given the deadline's local date.

    Calls to action stop after the deadline's day; `until_days_left = N` posts while more than N days are
    left, `from_days_left = N` once N or fewer are left, so the two with the same N split the days cleanly.
    A campaign without `act_by` is active every day (validate refuses the two fields without it).
    """
    if act_by is None:
        return True
    if local_date > act_by:
        return False
    left = days_left(act_by, local_date)
    if rule.until_days_left is not None and left <= rule.until_days_left:
        return False
    return not (rule.from_days_left is not None and left > rule.from_days_left)


def slot_allowed(campaign: Campaign, rule: Rule, at: datetime) -> bool:
    """Whether a call to action of ``rule`` at the aware instant ``at`` is before the deadline and in the
    rule's days-left window (the planner's filter over expanded slots)."""
    deadline = campaign.act_by_utc()
    if deadline is not None and at >= deadline:
        return False
    return rule_active_on(rule, at.astimezone(campaign.zone()).date(), campaign.act_by_date())


class _Slot(Protocol):
    @property
    def rule_id(self) -> str: ...

    @property
    def at(self) -> datetime: ...


SlotT = TypeVar("SlotT", bound=_Slot)


def calls_to_action(campaign: Campaign, slots: Iterable[SlotT]) -> list[SlotT]:
    """The expanded slots (bot/campaigns/schedule.py) that may post a call to action: for the planner, after
    expansion. Without `act_by` every slot stays."""
    if campaign.act_by is None:
        return list(slots)
    rules = {rule.id: rule for rule in campaign.schedule}
    return [s for s in slots if s.rule_id not in rules or slot_allowed(campaign, rules[s.rule_id], s.at)]


def deadline_passed(campaign: Campaign, now: datetime) -> bool:
    """For `status`: the campaign is still open, but its calls to action have stopped."""
    deadline = campaign.act_by_utc()
    return deadline is not None and now >= deadline


def locale_for(language: str) -> Locale:
    from babel.core import Locale, UnknownLocaleError  # imported when a deadline is written, not at start

    code = _DEFAULT_LOCALE.get(language, language.replace("-", "_"))
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(code.split("_")[0]) if "_" in code else Locale.parse("en_001")


def deadline_words(act_by: date, language: str) -> str:
    """The deadline as the language writes a day and month: "5 December", "5 de diciembre", "12月5日"."""
    from babel.core import UnknownLocaleError
    from babel.dates import format_skeleton

    try:
        return str(format_skeleton("MMMMd", act_by, locale=locale_for(language)))
    except (UnknownLocaleError, ValueError):
        return str(format_skeleton("MMMMd", act_by, locale="en_001"))


def stored_deadline(definition: dict[str, Any] | None, timezone: str | None) -> datetime | None:
    """The campaign's ``act_by`` as a UTC time (a date means the end of that day in the campaign's zone).
    Read defensively: older definitions have none."""
    definition = definition or {}
    raw = definition.get("act_by") or (definition.get("campaign") or {}).get("act_by")
    if not raw:
        return None
    try:
        zone = ZoneInfo(timezone or "UTC")
        if isinstance(raw, str) and len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
        when = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except (ValueError, KeyError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.astimezone(UTC)
