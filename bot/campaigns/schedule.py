"""Expanding a campaign's schedule rules into slots, day by day, the way Debian's cron would fire them.

For each local day the cron fields match (bot.campaigns.cron), each of the day's matching wall-clock times
is placed in the campaign's zone with zoneinfo. Around DST changes:
- the hour repeated when DST ends posts once, at its first occurrence (slots are keyed by local wall time);
- a time skipped when DST starts posts once at the first real minute after the gap (02:30 -> 03:00), as
  cron runs a job with a fixed time; a rule with a wildcard minute or hour (``*/15 * * * *``, ``0 * * * *``)
  runs by the new clock, as cron's wildcard jobs do, so the skipped times are simply not there.
Explicit ``at`` times written without an offset are wall times in the campaign's zone and follow the same
rule as a fixed-time cron job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from bot.campaigns.cron import CronSpec, parse_cron
from bot.campaigns.schema import Campaign, QuietHours, Rule

_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)


class Slot(NamedTuple):
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


def localise(naive: datetime, zone: ZoneInfo, after_gap: bool = True) -> datetime | None:
    """The UTC instant of a local wall time. In the repeated hour, its first occurrence. In a DST gap, the
    first real minute after the gap (or None when ``after_gap`` is false: the time does not happen)."""
    utc = naive.replace(tzinfo=zone).astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == naive:
        return utc
    if not after_gap:
        return None
    wall = naive.replace(second=0, microsecond=0)
    for _ in range(24 * 60):  # gaps are an hour or less in today's zones; bounded all the same
        wall += _MINUTE
        utc = wall.replace(tzinfo=zone).astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == wall:
            return utc
    raise ValueError(f"no real time after {naive} in {zone.key}")


@lru_cache(maxsize=16384)
def _steady_midnight(zone: ZoneInfo, day: date) -> datetime | None:
    """The UTC instant of the day's local midnight, if the zone's offset does not change that day; else None.
    (Cached: a thousand campaigns share a handful of zones.)"""
    midnight = datetime(day.year, day.month, day.day)
    offset = midnight.replace(tzinfo=zone).utcoffset()
    if offset is None or offset != (midnight + _DAY).replace(tzinfo=zone).utcoffset():
        return None
    return (midnight - offset).replace(tzinfo=UTC)


def _cron_times(spec: CronSpec, zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[tuple[str, datetime]]:
    """(local key, UTC instant) of each firing with ``start <= instant < end``, in order."""
    times = [(timedelta(hours=t.hour, minutes=t.minute), f"T{t.hour:02d}:{t.minute:02d}") for t in spec.times()]
    day: date = start.astimezone(zone).date() - _DAY
    last_day: date = end.astimezone(zone).date() + _DAY
    previous: datetime | None = None
    while day <= last_day:
        if spec.matches_day(day):
            midnight = datetime(day.year, day.month, day.day)
            base = _steady_midnight(zone, day)
            day_iso = day.isoformat()
            for since_midnight, suffix in times:
                instant: datetime | None
                if base is not None:  # no DST change today: plain arithmetic
                    instant = base + since_midnight
                else:
                    instant = localise(midnight + since_midnight, zone, after_gap=spec.fixed_time)
                # Several times in one gap all land on its first real minute: cron runs the job once there.
                if instant is None or (previous is not None and instant <= previous):
                    continue
                previous = instant
                if instant >= end:
                    return
                if instant >= start:
                    yield day_iso + suffix, instant
        day += _DAY


def _at_times(rule: Rule, campaign: Campaign, start: datetime, end: datetime) -> Iterator[tuple[str, datetime]]:
    zone = campaign.zone()
    timed: list[tuple[datetime, str]] = []
    for value in rule.at or ():
        if value.tzinfo is None:  # a wall time in the campaign's zone
            instant = localise(value, zone)
            assert instant is not None
            timed.append((instant, value.isoformat(timespec="minutes")))
        else:
            wall = value.astimezone(zone).replace(tzinfo=None)
            timed.append((value.astimezone(UTC), wall.isoformat(timespec="minutes")))
    previous: datetime | None = None
    for instant, key in sorted(timed):
        if instant == previous:  # 02:30 in a gap and 03:00 after it: one post, as for a cron rule
            continue
        previous = instant
        if start <= instant < end:
            yield key, instant


def _window(campaign: Campaign, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) within the campaign's own dates (empty when start >= end)."""
    c_start, c_end = campaign.starts_utc(), campaign.ends_utc()
    if c_start and c_start > start:
        start = c_start
    if c_end and c_end < end:
        end = c_end
    return start, end


def iter_rule_slots(rule: Rule, campaign: Campaign, start: datetime, end: datetime) -> Iterator[Slot]:
    """The slots of one rule with ``start <= time < end`` (before jitter), within the campaign's dates.
    There is no cap on the count: the caller's window bounds it."""
    zone: ZoneInfo = campaign.zone()
    start, end = _window(campaign, start, end)
    if start >= end:
        return
    quiet = rule.quiet_hours or campaign.quiet_hours
    if rule.cron is not None:
        raw = _cron_times(parse_cron(rule.cron), zone, start, end)
    else:
        raw = _at_times(rule, campaign, start, end)
    seen: set[str] = set()
    for key, instant in raw:
        if key in seen:  # two `at` times in one minute (validation refuses them; never two rows)
            continue
        seen.add(key)
        at = instant
        if rule.jitter_minutes or at.microsecond:
            at = (instant + _jitter(f"{rule.id}:{key}", rule.jitter_minutes)).replace(microsecond=0)
        if quiet is not None and in_quiet_hours(at.astimezone(zone).time(), quiet):
            continue
        yield Slot(rule.id, key, at)


def rule_slots(rule: Rule, campaign: Campaign, start: datetime, end: datetime) -> list[Slot]:
    return list(iter_rule_slots(rule, campaign, start, end))


SlotCache = dict[tuple[Any, ...], tuple[Slot, ...]]
"""Expanded schedules by what they depend on, for one plan: the campaigns of a plan share a handful of zones and
rules, and a slot depends on nothing else (its jitter is keyed by the rule's id and the slot's local time)."""


def _rule_key(rule: Rule, campaign: Campaign) -> tuple[Any, ...]:
    quiet = rule.quiet_hours or campaign.quiet_hours
    return (rule.id, rule.cron, None if rule.at is None else tuple(rule.at), rule.jitter_minutes,
            None if quiet is None else (quiet.start, quiet.end))


def campaign_slots(campaign: Campaign, start: datetime, end: datetime, cache: SlotCache | None = None) -> list[Slot]:
    """Every rule's slots with ``start <= time < end`` within the campaign's dates, in time order. ``cache``:
    campaigns whose rules, zone and window are the same share one expansion (the list returned is the
    caller's own)."""
    if cache is None:
        return _expand(campaign, start, end)
    window = _window(campaign, start, end)
    key = (campaign.timezone, window, tuple(_rule_key(rule, campaign) for rule in campaign.schedule))
    found = cache.get(key)
    if found is None:
        found = cache[key] = tuple(_expand(campaign, start, end))
    return list(found)


def _expand(campaign: Campaign, start: datetime, end: datetime) -> list[Slot]:
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
    key = (_rule_key(rule, campaign), campaign.timezone, _window(campaign, start, end))
    found = _EVER_POSTS.get(key)
    if found is None:
        if len(_EVER_POSTS) >= 4096:  # a load's campaigns share a handful; the next load has another `now`
            _EVER_POSTS.clear()
        found = _EVER_POSTS[key] = next(iter_rule_slots(rule, campaign, start, end), None) is not None
    return found


_EVER_POSTS: dict[tuple[Any, ...], bool] = {}
"""rule_ever_posts' answers by what a rule's slots depend on (validating a thousand files asks 3,000 times)."""
