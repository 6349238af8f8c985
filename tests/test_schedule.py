from datetime import UTC, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from bot.campaigns.cron import parse_cron
from bot.campaigns.schedule import campaign_slots, in_quiet_hours, rule_slots
from bot.campaigns.schema import Campaign, QuietHours, Rule


def campaign(tz: str, cron: str, **extra) -> Campaign:
    data = {
        "title": "t", "languages": ["en"], "timezone": tz, "ask": "a", "accounts": ["a"],
        "schedule": extra.pop("schedule", None) or [{"id": "r", "cron": cron, **extra.pop("rule", {})}],
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


@pytest.mark.parametrize("tz", ["America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney",
                                "America/Santiago", "Asia/Tehran", "America/Lima"])
def test_monthly_midnight_rule_posts_on_the_first_of_every_month_across_dst_changes(tz):
    c = campaign(tz, "0 0 1 * *")
    start = datetime(2026, 3, 1, 0, 1, tzinfo=c.zone())
    slots = campaign_slots(c, start, datetime(2027, 3, 2, tzinfo=c.zone()))
    assert [s.local_key for s in slots] == [f"{y}-{m:02d}-01T00:00" for y, m in
                                            [(2026, m) for m in range(4, 13)] + [(2027, 1), (2027, 2), (2027, 3)]]
    # Every post at a real local midnight, or at the first real minute after it where midnight is skipped.
    for s in slots:
        local = s.at.astimezone(c.zone())
        assert local.day == 1 and local.hour in (0, 1) and local.minute == 0


def test_new_york_from_1_march_next_posts_on_1_april_at_midnight():
    c = campaign("America/New_York", "0 0 1 * *")
    slots = campaign_slots(c, datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    assert local_times(c, datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)) == [
        "2026-04-01 00:00 EDT", "2026-05-01 00:00 EDT"]
    assert slots[0].at == datetime(2026, 4, 1, 4, tzinfo=UTC)


def test_a_time_in_new_yorks_spring_gap_posts_at_three_not_half_past_three():
    c = campaign("America/New_York", "30 2 * * *")
    assert local_times(c, datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 3, 10, 12, tzinfo=UTC)) == [
        "2026-03-08 03:00 EDT", "2026-03-09 02:30 EDT", "2026-03-10 02:30 EDT"]


def test_several_times_in_the_gap_post_once_at_its_end():
    c = campaign("America/New_York", "0,30 2,3 * * *")
    assert local_times(c, datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 8, 12, tzinfo=UTC)) == [
        "2026-03-08 03:00 EDT", "2026-03-08 03:30 EDT"]


def test_an_hourly_rule_runs_by_the_new_clock_through_the_gap_and_once_through_the_repeated_hour():
    c = campaign("America/New_York", "30 * * * *")
    spring = local_times(c, datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 8, 9, tzinfo=UTC))
    assert spring == ["2026-03-08 00:30 EST", "2026-03-08 01:30 EST", "2026-03-08 03:30 EDT", "2026-03-08 04:30 EDT"]
    autumn = local_times(c, datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 1, 9, tzinfo=UTC))
    assert autumn == ["2026-11-01 00:30 EDT", "2026-11-01 01:30 EDT", "2026-11-01 02:30 EST", "2026-11-01 03:30 EST"]


def test_an_at_time_written_in_the_gap_posts_at_the_first_real_minute_after_it():
    c = campaign("America/New_York", "0 9 * * *")
    c = c.model_copy(update={"schedule": [Rule(id="once", at=[datetime(2026, 3, 8, 2, 30)])]})
    slots = campaign_slots(c, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert [(s.local_key, s.at) for s in slots] == [("2026-03-08T02:30", datetime(2026, 3, 8, 7, tzinfo=UTC))]


def test_two_at_times_in_the_same_local_minute_refuse_the_file_naming_both():
    with pytest.raises(ValidationError) as info:
        campaign("America/Lima", "0 9 * * *", schedule=[
            {"id": "once", "at": ["2026-12-01T10:00:00", "2026-12-01T10:00:40"]}])
    message = str(info.value)
    assert "schedule[0].at: 2026-12-01T10:00:00 and 2026-12-01T10:00:40 are the same minute" in message
    # The same minute written once as a local time and once with an offset is refused too.
    with pytest.raises(ValidationError, match="are the same minute"):
        campaign("America/Lima", "0 9 * * *", schedule=[
            {"id": "once", "at": ["2026-12-01T10:00:00", "2026-12-01T15:00:00+00:00"]}])


def test_two_at_times_a_minute_apart_are_two_posts():
    c = campaign("America/Lima", "0 9 * * *", schedule=[
        {"id": "once", "at": ["2026-12-01T10:00:00", "2026-12-01T10:01:00"]}])
    assert len(campaign_slots(c, datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))) == 2


def test_a_rule_every_minute_is_expanded_in_full_past_twenty_thousand_slots():
    c = campaign("UTC", "* * * * *")
    slots = rule_slots(c.schedule[0], c, datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 16, tzinfo=UTC))
    assert len(slots) == 15 * 24 * 60
    assert slots[-1].local_key == "2026-12-15T23:59"


def test_campaigns_sharing_a_slot_cache_get_the_slots_each_would_get_alone():
    start, end = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC)
    variants = [
        campaign("America/Lima", "0 9 * * *"),
        campaign("America/Lima", "0 9 * * *"),  # the same: shares the first's expansion
        campaign("Europe/London", "0 9 * * *"),
        campaign("America/Lima", "0 10 * * *"),
        campaign("America/Lima", "0 9 * * *", rule={"jitter_minutes": 10}),
        campaign("America/Lima", "0 9 * * *", rule={"jitter_minutes": 20}),
        campaign("America/Lima", "0 9 * * *", starts="2026-12-05T00:00:00"),
        campaign("America/Lima", "0 9 * * *", ends="2026-12-05T00:00:00"),
        campaign("America/Lima", "0 * * * *", quiet_hours={"start": "19:00", "end": "08:00"}),
        campaign("America/Lima", "0 * * * *", quiet_hours={"start": "20:00", "end": "08:00"}),
        campaign("America/Lima", "0 * * * *", rule={"quiet_hours": {"start": "20:00", "end": "08:00"}}),
        campaign("America/Lima", "0 9 * * *", schedule=[{"id": "other", "cron": "0 9 * * *",
                                                          "jitter_minutes": 10}]),
        campaign("America/Lima", "0 9 * * *", schedule=[{"id": "once", "at": ["2026-12-03T10:00:00"]}]),
        campaign("America/Lima", "0 9 * * *", schedule=[{"id": "once", "at": ["2026-12-04T10:00:00"]}]),
        campaign("America/Lima", "0 9 * * *", schedule=[{"id": "a", "cron": "0 9 * * *"},
                                                          {"id": "b", "cron": "0 18 * * 1-5"}]),
    ]
    cache: dict = {}
    for c in variants:
        for window in ((start, end), (start + timedelta(hours=1), end)):
            shared = campaign_slots(c, *window, cache)
            assert shared == campaign_slots(c, *window)
            shared.clear()  # the caller's own list: the cache keeps its copy
            assert campaign_slots(c, *window, cache) == campaign_slots(c, *window)
    first, same = (campaign_slots(c, start, end, cache) for c in variants[:2])
    assert all(a is b for a, b in zip(first, same, strict=True))  # one expansion for both


def test_whether_a_rule_ever_posts_is_answered_for_each_campaign_whatever_was_asked_before():
    from bot.campaigns.schedule import _EVER_POSTS, rule_ever_posts

    now = datetime(2026, 12, 1, tzinfo=UTC)
    quiet_all_day = {"start": "00:00", "end": "23:59"}
    cases = [
        (campaign("America/Lima", "0 9 * * *"), True),
        (campaign("America/Lima", "0 9 * * *", quiet_hours=quiet_all_day), False),
        (campaign("America/Lima", "0 9 * * *", rule={"quiet_hours": quiet_all_day}), False),
        (campaign("America/Lima", "0 9 * * *", ends="2026-12-01T05:00:00"), False),
        (campaign("America/Lima", "0 9 * * *", ends="2026-12-02T05:00:00"), True),
        (campaign("America/Lima", "0 9 29 2 *"), False),  # 29 February: none within a year of now
        (campaign("America/Lima", "0 9 29 2 *", starts="2027-06-01T00:00:00"), True),
        (campaign("America/Lima", "0 9 * * *", schedule=[{"id": "once", "at": ["2026-12-03T10:00:00"]}]), True),
        (campaign("America/Lima", "0 9 * * *", schedule=[{"id": "once", "at": ["2026-12-03T10:00:00"]}],
                  ends="2026-12-02T00:00:00"), False),
    ]
    for order in (cases, cases[::-1]):
        _EVER_POSTS.clear()
        assert [rule_ever_posts(c.schedule[0], c, now) for c, _ in order] == [posts for _, posts in order]
