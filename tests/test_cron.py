"""Cron expressions mean what Debian's cron means: checked against a table written by hand and against
cronsim (the evaluator healthchecks wrote to follow Debian's cron, DST quirks included)."""

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim

from bot.campaigns.cron import parse_cron
from bot.campaigns.schedule import campaign_slots
from tests.test_schedule import campaign

WEEK = [date(2026, 11, 29) + timedelta(days=n) for n in range(7)]  # Sunday 29 November .. Saturday 5 December

# expression (day-of-week field) -> the days Debian's cron runs it
WEEKDAY_TABLE = [
    ("*/2", "Sun Tue Thu Sat"),
    ("1-5/2", "Mon Wed Fri"),
    ("*/3", "Sun Wed Sat"),
    ("0-6", "Sun Mon Tue Wed Thu Fri Sat"),
    ("0-4", "Sun Mon Tue Wed Thu"),
    ("sun-thu", "Sun Mon Tue Wed Thu"),
    ("6,0-3", "Sun Mon Tue Wed Sat"),
    ("7", "Sun"),
    ("0", "Sun"),
    ("5-7", "Sun Fri Sat"),
    ("1-5", "Mon Tue Wed Thu Fri"),
    ("MON,wed", "Mon Wed"),
    ("sat/2", "Sat"),
    ("0-7/7", "Sun"),
    ("*", "Sun Mon Tue Wed Thu Fri Sat"),
]


@pytest.mark.parametrize(("dow", "days"), WEEKDAY_TABLE)
def test_day_of_week_steps_and_ranges_fire_on_the_days_debian_cron_fires(dow, days):
    spec = parse_cron(f"0 9 * * {dow}")
    assert " ".join(d.strftime("%a") for d in WEEK if spec.matches_day(d)) == days
    # The planner posts on exactly those days, at 09:00 in the campaign's zone.
    c = campaign("America/Lima", f"0 9 * * {dow}")
    slots = campaign_slots(c, datetime(2026, 11, 29, 5, tzinfo=UTC), datetime(2026, 12, 6, 5, tzinfo=UTC))
    assert " ".join(s.at.astimezone(c.zone()).strftime("%a") for s in slots) == days
    assert {s.at.astimezone(c.zone()).strftime("%H:%M") for s in slots} == {"09:00"}


@pytest.mark.parametrize(("dow", "days"), WEEKDAY_TABLE)
def test_the_weekday_table_agrees_with_cronsim(dow, days):
    start = datetime(2026, 11, 28, 12, 0)
    fired = CronSim(f"0 9 * * {dow}", start)
    seen = []
    for at in fired:
        if at.date() > WEEK[-1]:
            break
        seen.append(at.strftime("%a"))
    assert " ".join(seen) == days


def test_day_of_month_and_day_of_week_both_restricted_fire_on_either():
    spec = parse_cron("0 9 1 * mon")  # the 1st, and every Monday
    december = [date(2026, 12, d) for d in range(1, 15)]
    assert [d.day for d in december if spec.matches_day(d)] == [1, 7, 14]


def test_a_star_step_in_day_of_month_means_both_must_match_as_in_debian_cron():
    spec = parse_cron("0 9 */2 * mon")  # starts with '*': odd days that are Mondays
    december = [date(2026, 12, d) for d in range(1, 32)]
    assert [d.day for d in december if spec.matches_day(d)] == [7, 21]


def test_month_names_ranges_and_steps_select_months():
    assert sorted(parse_cron("0 9 1 jan-mar,oct *").months) == [1, 2, 3, 10]
    assert sorted(parse_cron("0 9 1 */4 *").months) == [1, 5, 9]
    assert parse_cron("10/20 * * * *").minutes == (10, 30, 50)


@pytest.mark.parametrize(("expr", "message"), [
    ("0 9 * *", "needs 5 fields"),
    ("61 9 * * *", "minute 61 is out of range 0-59"),
    ("0 9 * * 8", "day of week 8 is out of range 0-7"),
    ("0 9 * * fri-sun", "runs backwards: write it as 5-7"),
    ("0 9 * * */0", "a step must be at least 1"),
    ("0 9 * * funday", "'funday' is not a number or a name like 'sun'"),
])
def test_a_bad_expression_is_one_line_naming_the_expression_and_the_field(expr, message):
    with pytest.raises(ValueError, match="cron") as info:
        parse_cron(expr)
    assert message in str(info.value) and expr in str(info.value) and "\n" not in str(info.value)


ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham",
         "Africa/Casablanca", "Asia/Kolkata"]
FIXED = ["0 0 1 * *", "30 2 * * *", "0 0 * * *", "15 1,2,3 * * 0", "0 9 * * 1-5/2", "0,30 2 * * *",
         "45 23 * * */2", "30 0 1,15 * fri"]
WILDCARD = ["0 */6 * * *", "*/20 3 * * 0", "30 * 1 * *"]


@pytest.mark.parametrize("zone", ZONES)
def test_two_years_of_slots_agree_with_cronsim_in_zones_with_dst_changes(zone):
    start, end = datetime(2026, 1, 1, tzinfo=ZoneInfo(zone)), datetime(2028, 1, 1, tzinfo=ZoneInfo(zone))
    for expr in FIXED + WILDCARD:
        if zone == "Australia/Lord_Howe" and expr in WILDCARD:
            continue  # cronsim misses 06:00 on Lord Howe's half-hour change days: see the test below
        ours = [s.at for s in campaign_slots(campaign(zone, expr), start, end)]
        theirs: list[datetime] = []
        walls: set[datetime] = set()
        for at in CronSim(expr, start - timedelta(seconds=1)):
            if at >= end:
                break
            wall = at.replace(tzinfo=None)
            if wall in walls:
                # Debian's cron runs an hourly job again in the repeated hour; we post once per wall-clock minute.
                continue
            walls.add(wall)
            theirs.append(at.astimezone(UTC))
        assert ours == theirs, (zone, expr)


def test_a_six_hourly_rule_posts_four_times_on_lord_howes_half_hour_change_days():
    c = campaign("Australia/Lord_Howe", "0 */6 * * *")
    for day in (datetime(2026, 4, 5), datetime(2026, 10, 4)):  # back to +10:30, forward to +11
        start = day.replace(tzinfo=c.zone())
        slots = campaign_slots(c, start, start + timedelta(days=1))
        assert [s.at.astimezone(c.zone()).strftime("%H:%M") for s in slots] == ["00:00", "06:00", "12:00", "18:00"]


def test_the_cron_module_is_a_leaf_and_the_schema_does_not_import_the_schedule():
    code = ("import sys\n"
            "from bot.campaigns.schema import Rule\n"
            "Rule(id='r', cron='0 9 * * 1-5')\n"
            "assert 'bot.campaigns.schedule' not in sys.modules, 'schema imported schedule'\n"
            "import bot.campaigns.cron as c\n"
            "assert not [n for n in vars(c) if getattr(vars(c)[n], '__module__', '').startswith('bot.')"
            " and vars(c)[n].__module__ != c.__name__]\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
