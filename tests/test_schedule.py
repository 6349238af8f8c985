from datetime import UTC, datetime, time, timedelta

import pytest

from bot.campaigns.cron import parse_cron
from bot.campaigns.schedule import campaign_slots, in_quiet_hours, rule_slots
from bot.campaigns.schema import Campaign, QuietHours


def campaign(tz: str, cron: str, **extra) -> Campaign:
    data = {
        "title": "t", "languages": ["en"], "timezone": tz, "ask": "a", "accounts": ["a"],
        "schedule": [{"id": "r", "cron": cron, **extra.pop("rule", {})}],
        "messages": {"call_to_action": [{"text": "x"}],
                     "closing": {"success": {"text": "s"}, "no_further_action": {"text": "n"}}},
        **extra,
    }
    return Campaign.model_validate(data)


def local_times(c: Campaign, start: datetime, end: datetime) -> list[str]:
    return [s.at.astimezone(c.zone()).strftime("%Y-%m-%d %H:%M %Z") for s in campaign_slots(c, start, end)]


def test_repeated_hour_when_london_leaves_summer_time_posts_once():
    c = campaign("Europe/London", "30 1 * * *")
    times = local_times(c, datetime(2026, 10, 24, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC))
    assert times == ["2026-10-24 01:30 BST", "2026-10-25 01:30 BST", "2026-10-26 01:30 GMT"]


def test_skipped_hour_when_london_enters_summer_time_posts_at_the_first_real_minute_after_it():
    c = campaign("Europe/London", "30 1 * * *")
    slots = campaign_slots(c, datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    assert [s.local_key for s in slots] == ["2026-03-28T01:30", "2026-03-29T01:30", "2026-03-30T01:30"]
    # 01:30 does not exist on 29 March (01:00 GMT is 02:00 BST): the post goes out once, at 02:00 BST.
    assert slots[1].at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert local_times(c, datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC)) == [
        "2026-03-29 02:00 BST"]


def test_lima_has_no_dst_so_every_day_is_five_hours_behind_utc():
    c = campaign("America/Lima", "0 9 * * *")
    slots = campaign_slots(c, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert len(slots) == 274
    assert {s.at.hour for s in slots} == {14}


def test_crontab_day_of_week_counts_from_sunday():
    c = campaign("America/Lima", "0 9 * * 1-5")
    slots = campaign_slots(c, datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC))
    assert [s.at.astimezone(c.zone()).strftime("%a") for s in slots] == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    sunday = campaign("America/Lima", "0 9 * * 0")
    assert [s.local_key for s in campaign_slots(sunday, datetime(2026, 11, 27, tzinfo=UTC),
                                                datetime(2026, 12, 4, tzinfo=UTC))] == ["2026-11-29T09:00"]


@pytest.mark.parametrize("expr", ["0 9 * *", "61 9 * * *", "0 9 * * 8", "0 25 * * *", "a b c d e"])
def test_bad_cron_is_a_clear_value_error(expr):
    with pytest.raises(ValueError, match="cron"):
        parse_cron(expr)


def test_quiet_hours_across_midnight():
    q = QuietHours(start=time(22), end=time(7))
    assert in_quiet_hours(time(23), q) and in_quiet_hours(time(6, 59), q)
    assert not in_quiet_hours(time(7), q) and not in_quiet_hours(time(12), q)


def test_slots_in_quiet_hours_are_dropped():
    c = campaign("America/Lima", "0 * * * *", quiet_hours={"start": "19:00", "end": "08:00"})
    slots = campaign_slots(c, datetime(2026, 12, 1, 5, tzinfo=UTC), datetime(2026, 12, 2, 5, tzinfo=UTC))
    hours = [s.at.astimezone(c.zone()).hour for s in slots]
    assert hours == list(range(8, 19))


def test_jitter_is_bounded_and_the_same_on_every_plan():
    c = campaign("America/Lima", "0 9 * * *", rule={"jitter_minutes": 10})
    start, end = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)
    first = campaign_slots(c, start, end)
    again = campaign_slots(c, start, end)
    assert first == again
    offsets = [s.at - datetime.fromisoformat(s.local_key).replace(tzinfo=c.zone()) for s in first]
    assert all(abs(o) <= timedelta(minutes=10) for o in offsets)
    assert len({o for o in offsets}) > 5  # actually jittered


def test_starts_and_ends_bound_the_slots():
    c = campaign("America/Lima", "0 9 * * *", starts="2026-12-02T00:00:00", ends="2026-12-04T00:00:00")
    slots = rule_slots(c.schedule[0], c, datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 10, tzinfo=UTC))
    assert [s.local_key for s in slots] == ["2026-12-02T09:00", "2026-12-03T09:00"]
