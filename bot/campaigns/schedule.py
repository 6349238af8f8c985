"""Expanding a campaign's schedule rules into slots.

APScheduler's CronTrigger does the calendar arithmetic. Two things are added on top of it:
- crontab day-of-week numbers are translated to names, because APScheduler 3 counts 0 as Monday while
  crontab counts 0 as Sunday (``0 9 * * 1`` would otherwise post on Tuesdays);
- slots are keyed by their local wall-clock time, so the hour repeated when DST ends gives one post, not two.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.campaigns.schema import Campaign, QuietHours, Rule, aware_in

_DOW_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_SLOTS_PER_RULE = 20_000


def _translate_dow(field: str) -> str:
    def repl(match: re.Match[str]) -> str:
        n = int(match.group(0))
        if n > 7:
            raise ValueError(f"day of week {n} is out of range 0-7")
        return _DOW_NAMES[n]

    # Numbers after a '/' are steps, not days.
    parts = []
    for item in field.split(","):
        base, sep, step = item.partition("/")
        parts.append(re.sub(r"\d+", repl, base) + sep + step)
    return ",".join(parts)


def parse_cron(expr: str, tz: str) -> CronTrigger:
    """A 5-field crontab expression (minute hour day month day-of-week) in zone ``tz``."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron {expr!r} needs 5 fields (minute hour day month day-of-week), found {len(fields)}")
    minute, hour, day, month, dow = fields
    try:
        dow = _translate_dow(dow)
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=tz)
    except ValueError as exc:
        raise ValueError(f"cron {expr!r}: {exc}") from None


@dataclass(frozen=True)
class Slot:
    rule_id: str
    local_key: str
    """Local wall-clock time, e.g. 2026-11-30T09:00; unique per rule, and stable across re-plans."""
    at: datetime
    """When to post, in UTC, after jitter."""


def in_quiet_hours(local: time, quiet: QuietHours | None) -> bool:
    if quiet is None or quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def _jitter(key: str, minutes: float) -> timedelta:
    if minutes <= 0:
        return timedelta(0)
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64  # 0..1, stable per slot
    return timedelta(seconds=(h * 2 - 1) * minutes * 60)


def _raw_times(rule: Rule, campaign: Campaign, start: datetime, end: datetime) -> Iterator[datetime]:
    zone = campaign.zone()
    if rule.at is not None:
        for at in sorted(aware_in(a, campaign.timezone) for a in rule.at):
            if start <= at < end:
                yield at.astimezone(zone)
        return
    assert rule.cron is not None
    trigger = parse_cron(rule.cron, campaign.timezone)
    prev: datetime | None = None
    now = start
    for _ in range(MAX_SLOTS_PER_RULE):
        nxt = trigger.get_next_fire_time(prev, now)
        if nxt is None or nxt >= end:
            return
        yield nxt
        prev = now = nxt


def iter_rule_slots(rule: Rule, campaign: Campaign, start: datetime, end: datetime) -> Iterator[Slot]:
    """The slots of one rule with ``start <= time < end`` (before jitter), within the campaign's dates."""
    zone: ZoneInfo = campaign.zone()
    c_start, c_end = campaign.starts_utc(), campaign.ends_utc()
    if c_start and c_start > start:
        start = c_start
    if c_end and c_end < end:
        end = c_end
    if start >= end:
        return
    quiet = rule.quiet_hours or campaign.quiet_hours
    seen: set[str] = set()
    for raw in _raw_times(rule, campaign, start, end):
        local = raw.astimezone(zone)
        key = local.replace(tzinfo=None).isoformat(timespec="minutes")
        if key in seen:  # the repeated hour at the end of DST
            continue
        seen.add(key)
        at = (raw.astimezone(UTC) + _jitter(f"{rule.id}:{key}", rule.jitter_minutes)).replace(microsecond=0)
        if in_quiet_hours(at.astimezone(zone).time(), quiet):
            continue
        yield Slot(rule.id, key, at)


def rule_slots(rule: Rule, campaign: Campaign, start: datetime, end: datetime) -> list[Slot]:
    return list(iter_rule_slots(rule, campaign, start, end))


def campaign_slots(campaign: Campaign, start: datetime, end: datetime) -> list[Slot]:
    slots = [s for rule in campaign.schedule for s in rule_slots(rule, campaign, start, end)]
    slots.sort(key=lambda s: (s.at, s.rule_id))
    return slots


def rule_ever_posts(rule: Rule, campaign: Campaign, now: datetime) -> bool:
    """Whether a rule yields any slot at all (a year from its start, for cron rules)."""
    if rule.at is not None:
        start = datetime(1970, 1, 1, tzinfo=UTC)
        end = datetime(9999, 1, 1, tzinfo=UTC)
    else:
        start = campaign.starts_utc() or now
        end = start + timedelta(days=366)
    return next(iter_rule_slots(rule, campaign, start, end), None) is not None
