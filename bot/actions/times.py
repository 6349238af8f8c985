"""Times people type: `now`, an ISO 8601 time with an offset, or (in a form that says which zone) a local time.
A time already past is refused, with the same words wherever it was typed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.actions.errors import ActionError

PAST_TOLERANCE_SECONDS = 60
"""A time typed to the minute is still "now" for this long; anything earlier is refused."""
EXAMPLE = "2026-12-01T09:00-05:00"


def human_duration(delta: timedelta) -> str:
    """A duration as people say it: "45 seconds", "12 minutes", "5 hours", "6 days"."""
    seconds = abs(int(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size or (unit == "minute" and seconds >= size):
            n = round(seconds / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def parse_time(value: str, now: datetime, zone: str | None = None, field: str = "at") -> datetime:
    """``now``, or an ISO 8601 time; without an offset it is read in ``zone`` (a form that says which zone it
    takes), else refused."""
    typed = value.strip()
    if not typed or typed.lower() == "now":
        return now
    try:
        when = datetime.fromisoformat(typed)
    except ValueError:
        raise ActionError("bad_time", field, value=typed, example=EXAMPLE if zone is None else "2026-12-01T09:00")\
            from None
    if when.tzinfo is None:
        if zone is None:
            raise ActionError("needs_offset", field, value=typed, example=EXAMPLE)
        when = when.replace(tzinfo=ZoneInfo(zone))
    return when


def check_future(when: datetime, now: datetime, typed: str | None = None, field: str = "at") -> datetime:
    if when < now - timedelta(seconds=PAST_TOLERANCE_SECONDS):
        raise ActionError("past_time", field, value=typed or when.isoformat(timespec="minutes"),
                          ago=human_duration(now - when))
    return when
