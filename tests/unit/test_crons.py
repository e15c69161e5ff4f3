"""CronJobs declarations and schedule math (no database)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from reactive import CronJobs, internal
from reactive.errors import ConfigurationError
from reactive.scheduler.cron_table import _next
from reactive.scheduler.crons import Cron, CronExpr, Every

BUMP = internal.testapp.scheduling.bump


def ms(*parts: int) -> float:
    """Milliseconds since the epoch of a UTC time."""
    return dt.datetime(*parts, tzinfo=dt.UTC).timestamp() * 1000.0


# -- declaring -------------------------------------------------------------------------------


def test_declared_crons_and_their_schedules():
    crons = CronJobs()
    a = crons.interval("a", {"seconds": 30}, BUMP, {"name": "a"})
    b = crons.interval("b", {"minutes": 5}, BUMP)
    c = crons.interval("c", {"hours": 2}, BUMP)
    d = crons.interval("d", {"seconds": 1.5}, BUMP)
    e = crons.cron("e", "0 16 1 * *", BUMP)
    f = crons.hourly("f", {"minute_utc": 15}, BUMP)
    g = crons.daily("g", {"hour_utc": 7, "minute_utc": 30}, BUMP, {"all": True})
    h = crons.weekly("h", {"day_of_week": "Monday", "hour_utc": 9, "minute_utc": 0}, BUMP)
    i = crons.monthly("i", {"day": 31, "hour_utc": 23, "minute_utc": 59}, BUMP)

    assert [x.schedule for x in (a, b, c, d)] == [
        Every(30_000.0),
        Every(300_000.0),
        Every(7_200_000.0),
        Every(1_500.0),
    ]
    assert [x.schedule for x in (e, f, g, h, i)] == [
        CronExpr("0 16 1 * *"),
        CronExpr("15 * * * *"),
        CronExpr("30 7 * * *"),
        CronExpr("0 9 * * 1"),
        CronExpr("59 23 31 * *"),
    ]
    assert len(crons) == 9
    assert [x.name for x in crons] == list("abcdefghi")
    assert a.args == {"name": "a"} and b.args == {} and g.args == {"all": True}
    assert a.ref == BUMP and a.path == "testapp/scheduling:bump"
    assert str(a.schedule) == "every 30 s" and str(d.schedule) == "every 1.5 s"
    assert str(e.schedule) == "cron 0 16 1 * *"


def test_args_are_copied():
    args = {"name": "x"}
    cron = CronJobs().interval("a", {"seconds": 1}, BUMP, args)
    args["name"] = "changed"
    assert cron.args == {"name": "x"}


@pytest.mark.parametrize(
    "method, schedule, expr",
    [
        ("hourly", {"minuteUTC": 5}, "5 * * * *"),
        ("daily", {"hourUTC": 3, "minuteUTC": 30}, "30 3 * * *"),
        ("daily", {"hourUTC": 0, "minute_utc": 0}, "0 0 * * *"),
        ("weekly", {"dayOfWeek": "sunday", "hourUTC": 23, "minuteUTC": 59}, "59 23 * * 0"),
        ("weekly", {"dayOfWeek": "SATURDAY", "hourUTC": 1, "minuteUTC": 2}, "2 1 * * 6"),
        ("monthly", {"day": 1, "hourUTC": 16, "minuteUTC": 0}, "0 16 1 * *"),
    ],
)
def test_convex_camel_case_keys(method, schedule, expr):
    cron = getattr(CronJobs(), method)("x", schedule, BUMP)
    assert cron.schedule == CronExpr(expr)


BAD = [
    # interval
    ("interval-under-1s", lambda c: c.interval("x", {"seconds": 0.5}, BUMP), "at least 1 second"),
    (
        "interval-no-unit",
        lambda c: c.interval("x", {}, BUMP),
        "give exactly one of seconds, minutes, hours; got none",
    ),
    (
        "interval-two-units",
        lambda c: c.interval("x", {"seconds": 1, "minutes": 1}, BUMP),
        r"exactly one of .*got \['minutes', 'seconds'\]",
    ),
    (
        "interval-unknown-key",
        lambda c: c.interval("x", {"secs": 1}, BUMP),
        r"unknown schedule key\(s\) \['secs'\]",
    ),
    (
        "interval-zero",
        lambda c: c.interval("x", {"seconds": 0}, BUMP),
        "seconds must be a positive number",
    ),
    (
        "interval-negative",
        lambda c: c.interval("x", {"minutes": -1}, BUMP),
        "minutes must be a positive number",
    ),
    (
        "interval-bool",
        lambda c: c.interval("x", {"seconds": True}, BUMP),
        "seconds must be a positive number",
    ),
    (
        "interval-string",
        lambda c: c.interval("x", {"seconds": "5"}, BUMP),
        "seconds must be a positive number",
    ),
    (
        "interval-nan",
        lambda c: c.interval("x", {"seconds": math.nan}, BUMP),
        "seconds must be a positive number",
    ),
    (
        "interval-inf",
        lambda c: c.interval("x", {"hours": math.inf}, BUMP),
        "hours must be a positive number",
    ),
    ("interval-not-dict", lambda c: c.interval("x", 5, BUMP), "the schedule must be a dict"),
    # cron
    ("cron-3-fields", lambda c: c.cron("x", "* * *", BUMP), "is not a five-field cron expression"),
    (
        "cron-6-fields",
        lambda c: c.cron("x", "* * * * * *", BUMP),
        "is not a five-field cron expression",
    ),
    (
        "cron-bad-minute",
        lambda c: c.cron("x", "61 * * * *", BUMP),
        "is not a five-field cron expression",
    ),
    ("cron-macro", lambda c: c.cron("x", "@daily", BUMP), "is not a five-field cron expression"),
    ("cron-none", lambda c: c.cron("x", None, BUMP), "is not a five-field cron expression"),
    # hourly / daily / weekly / monthly
    (
        "hourly-missing",
        lambda c: c.hourly("x", {}, BUMP),
        r"missing schedule key\(s\) \['minute_utc'\]",
    ),
    (
        "hourly-60",
        lambda c: c.hourly("x", {"minute_utc": 60}, BUMP),
        "minute_utc must be an integer from 0 to 59, got 60",
    ),
    (
        "hourly-extra-key",
        lambda c: c.hourly("x", {"minute_utc": 5, "hour_utc": 1}, BUMP),
        r"unknown schedule key\(s\) \['hour_utc'\]",
    ),
    (
        "daily-hour-24",
        lambda c: c.daily("x", {"hour_utc": 24, "minute_utc": 0}, BUMP),
        "hour_utc must be an integer from 0 to 23, got 24",
    ),
    (
        "daily-hour-negative",
        lambda c: c.daily("x", {"hour_utc": -1, "minute_utc": 0}, BUMP),
        "hour_utc must be an integer from 0 to 23",
    ),
    (
        "daily-hour-float",
        lambda c: c.daily("x", {"hour_utc": 1.0, "minute_utc": 0}, BUMP),
        "hour_utc must be an integer from 0 to 23, got 1.0",
    ),
    (
        "daily-hour-bool",
        lambda c: c.daily("x", {"hour_utc": True, "minute_utc": 0}, BUMP),
        "hour_utc must be an integer",
    ),
    (
        "daily-missing-minute",
        lambda c: c.daily("x", {"hour_utc": 3}, BUMP),
        r"missing schedule key\(s\) \['minute_utc'\]",
    ),
    ("daily-not-dict", lambda c: c.daily("x", [3, 30], BUMP), "the schedule must be a dict"),
    (
        "weekly-bad-day",
        lambda c: c.weekly("x", {"day_of_week": "funday", "hour_utc": 1, "minute_utc": 0}, BUMP),
        "day_of_week must be one of",
    ),
    (
        "weekly-missing-day",
        lambda c: c.weekly("x", {"hour_utc": 1, "minute_utc": 0}, BUMP),
        r"missing schedule key\(s\) \['day_of_week'\]",
    ),
    (
        "monthly-day-0",
        lambda c: c.monthly("x", {"day": 0, "hour_utc": 1, "minute_utc": 0}, BUMP),
        "day must be an integer from 1 to 31, got 0",
    ),
    (
        "monthly-day-32",
        lambda c: c.monthly("x", {"day": 32, "hour_utc": 1, "minute_utc": 0}, BUMP),
        "day must be an integer from 1 to 31, got 32",
    ),
    ("cron-never", lambda c: c.cron("x", "0 0 30 2 *", BUMP), "never matches a date"),
    (
        "monthly-missing-day",
        lambda c: c.monthly("x", {"hour_utc": 1, "minute_utc": 0}, BUMP),
        r"missing schedule key\(s\) \['day'\]",
    ),
    # names, references, args
    (
        "name-empty",
        lambda c: c.interval("", {"seconds": 1}, BUMP),
        "a cron name must be a non-empty string",
    ),
    (
        "name-blank",
        lambda c: c.interval("  ", {"seconds": 1}, BUMP),
        "a cron name must be a non-empty string",
    ),
    (
        "name-none",
        lambda c: c.interval(None, {"seconds": 1}, BUMP),
        "a cron name must be a non-empty string",
    ),
    (
        "ref-string",
        lambda c: c.interval("x", {"seconds": 1}, "testapp/scheduling:bump"),
        "the function must be a reference",
    ),
    ("args-list", lambda c: c.interval("x", {"seconds": 1}, BUMP, ["name"]), "args must be a dict"),
]


@pytest.mark.parametrize("call, match", [pytest.param(c, m, id=i) for i, c, m in BAD])
def test_bad_declarations(call, match):
    crons = CronJobs()
    with pytest.raises(ConfigurationError, match=match) as info:
        call(crons)
    assert "cron" in str(info.value)
    assert len(crons) == 0


def test_names_are_unique():
    crons = CronJobs()
    crons.interval("x", {"seconds": 1}, BUMP)
    with pytest.raises(ConfigurationError, match="cron 'x' is declared twice"):
        crons.daily("x", {"hour_utc": 1, "minute_utc": 0}, BUMP)
    assert len(crons) == 1
    assert [c.schedule for c in crons] == [Every(1000.0)]


# -- schedule math ---------------------------------------------------------------------------


def test_every_next_after():
    every = Every(5000.0)
    assert every.next_after(None, 123_456.0) == 123_456.0  # first run: at registration
    assert every.next_after(1000.0, 9999.0) == 6000.0
    assert every.next_after(10_000.0, 10_000.0) == 15_000.0


@pytest.mark.parametrize(
    "expr, now, want",
    [
        ("30 3 * * *", ms(2024, 1, 1, 4, 0), ms(2024, 1, 2, 3, 30)),
        ("30 3 * * *", ms(2024, 1, 1, 3, 0), ms(2024, 1, 1, 3, 30)),
        ("30 3 * * *", ms(2024, 1, 1, 3, 30), ms(2024, 1, 2, 3, 30)),  # strictly after
        ("30 3 * * *", ms(2024, 1, 1, 3, 29, 59) + 999, ms(2024, 1, 1, 3, 30)),
        ("15 * * * *", ms(2024, 1, 1, 10, 20), ms(2024, 1, 1, 11, 15)),
        ("0 9 * * 1", ms(2024, 1, 1, 10, 0), ms(2024, 1, 8, 9, 0)),  # 2024-01-01 is a Monday
        ("0 9 * * 1", ms(2023, 12, 31, 12, 0), ms(2024, 1, 1, 9, 0)),
        ("59 23 31 * *", ms(2024, 2, 1, 0, 0), ms(2024, 3, 31, 23, 59)),  # February has no 31st
        ("0 16 1 * *", ms(2024, 1, 15, 0, 0), ms(2024, 2, 1, 16, 0)),
        ("0 0 1 1 *", ms(2024, 12, 31, 23, 59), ms(2025, 1, 1, 0, 0)),
    ],
)
def test_cron_expr_next_after(expr, now, want):
    assert CronExpr(expr).next_after(None, now) == want
    assert CronExpr(expr).next_after(now - 86_400_000 * 30, now) == want  # last run ignored


def test_daily_crons_are_in_utc():
    cron = CronJobs().daily("d", {"hour_utc": 3, "minute_utc": 30}, BUMP)
    assert cron.schedule.next_after(None, ms(2024, 6, 30, 23, 0)) == ms(2024, 7, 1, 3, 30)


def test_next_run_of_an_interval_cron():
    cron = Cron("x", Every(1000.0), BUMP)
    assert _next(cron, 10_000.0, 10_500.0) == 11_000.0  # on time: the next period
    assert _next(cron, 10_000.0, 10_999.0) == 11_000.0
    assert _next(cron, 10_000.0, 11_000.0) == 12_000.0  # the next period is now: next one
    # missed runs collapse: hours late, the next run is one period from now, not a backlog
    assert _next(cron, 10_000.0, 10_000_000.0) == 10_001_000.0


def test_next_run_of_a_cron_expression_collapses_missed_runs():
    cron = Cron("x", CronExpr("30 3 * * *"), BUMP)
    previous = ms(2024, 1, 1, 3, 30)
    # on time: the next day
    assert _next(cron, previous, previous + 50) == ms(2024, 1, 2, 3, 30)
    # four days late: the next 03:30 after now, not the three missed ones
    assert _next(cron, previous, ms(2024, 1, 5, 12, 0)) == ms(2024, 1, 6, 3, 30)
    assert _next(cron, previous, ms(2024, 1, 5, 3, 0)) == ms(2024, 1, 5, 3, 30)
