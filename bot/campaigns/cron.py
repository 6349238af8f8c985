"""Crontab expressions as Debian's cron reads them (a leaf module: it imports nothing from the bot).

Five fields: minute hour day-of-month month day-of-week. Each is ``*``, a number, a range ``a-b``, a list
``a,b``, with an optional step (``*/2``, ``1-5/2``, ``10/15`` = from 10 to the end of the field every 15).
Day of week counts from Sunday: 0 and 7 are Sunday, so ``*/2`` is Sun/Tue/Thu/Sat and ``1-5/2`` Mon/Wed/Fri.
Months and weekdays may be written as names (``jan``, ``mon``), also in ranges (``sun-thu``).

As in Debian's cron, when the day-of-month or the day-of-week field starts with ``*`` a day must match both,
otherwise either (``0 9 1 * mon`` fires on the 1st and on every Monday).

The DST rules live in bot.campaigns.schedule; ``CronSpec.fixed_time`` tells it which kind of job this is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: i + 1 for i, name in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {name: i for i, name in enumerate(_DAYS)}),
)
_TERM = re.compile(r"^(?P<base>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>[0-9]+))?$")


@dataclass(frozen=True)
class CronSpec:
    """A parsed expression: the values each field allows."""

    expr: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday ... 6 = Saturday (a 7 in the expression is stored as 0)."""
    day_and: bool
    """Day-of-month or day-of-week starts with ``*``: a day must match both fields, else either."""
    fixed_time: bool
    """Neither minute nor hour starts with ``*``. Debian's cron runs such a job once after a DST gap that
    skipped its time; a job with a wildcard minute or hour just runs by the new clock."""

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = day.isoweekday() % 7 in self.weekdays
        return (dom and dow) if self.day_and else (dom or dow)

    def times(self) -> list[time]:
        """The day's wall-clock times, in order."""
        return [time(h, m) for h in self.hours for m in self.minutes]


def _number(token: str, field: int) -> int:
    name, low, high, names = _FIELDS[field]
    if token in names:
        return names[token]
    if not token.isdigit():
        known = f" or a name like {next(iter(names))!r}" if names else ""
        raise ValueError(f"{name} {token!r} is not a number{known}")
    value = int(token)
    if not low <= value <= high:
        raise ValueError(f"{name} {value} is out of range {low}-{high}")
    return value


def _field_values(text: str, field: int) -> set[int]:
    name, low, high, _ = _FIELDS[field]
    values: set[int] = set()
    for term in text.split(","):
        match = _TERM.match(term)
        if match is None:
            raise ValueError(f"{name} {term!r} is not a number, range (a-b), list (a,b) or step (*/n)")
        base, step_text = match.group("base"), match.group("step")
        step = 1 if step_text is None else int(step_text)
        if step == 0:
            raise ValueError(f"{name} {term!r}: a step must be at least 1")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, b = base.split("-")
            first, last = _number(a, field), _number(b, field)
            if first > last:
                fix = f"{first}-7" if field == 4 and last == 0 else f"{first}-{high},{low}-{last}"
                raise ValueError(f"{name} range {base!r} runs backwards: write it as {fix}")
        else:
            first = _number(base, field)
            last = high if step_text is not None else first
        values.update(range(first, last + 1, step))
    return values


@lru_cache(maxsize=4096)
def parse_cron(expr: str) -> CronSpec:
    """Parse a 5-field crontab expression; a ValueError names the expression and what is wrong with it."""
    fields = expr.lower().split()
    if len(fields) != 5:
        raise ValueError(f"cron {expr!r} needs 5 fields (minute hour day-of-month month day-of-week), "
                         f"found {len(fields)}")
    try:
        minutes, hours, days, months, weekdays = (_field_values(text, i) for i, text in enumerate(fields))
    except ValueError as exc:
        raise ValueError(f"cron {expr!r}: {exc}") from None
    # `0 9 30 2 *` is valid cron that never fires: validation reports a rule that produces no post.
    day_and = fields[2].startswith("*") or fields[4].startswith("*")
    return CronSpec(
        expr=expr,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(d % 7 for d in weekdays),
        day_and=day_and,
        fixed_time=not (fields[0].startswith("*") or fields[1].startswith("*")),
    )
