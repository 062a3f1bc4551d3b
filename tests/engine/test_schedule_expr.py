"""AWS schedule expressions: next fire times across boundaries, day names, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from cirrostratus.project.schedule_expr import (
    Cron,
    Rate,
    ScheduleError,
    UnsupportedSchedule,
    parse_schedule,
)

UTC = dt.UTC


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def test_rate_counts_from_start_without_catch_up() -> None:
    rate = parse_schedule("rate(1 hour)")
    assert rate == Rate(3600)
    start = at(2026, 1, 1, 0, 0)
    assert rate.next_fire(start, start) == at(2026, 1, 1, 1, 0)
    assert rate.next_fire(at(2026, 1, 1, 5, 30), start) == at(2026, 1, 1, 6, 0)
    assert parse_schedule("rate(5 minutes)") == Rate(300)
    assert parse_schedule("rate(2 days)") == Rate(172800)


@pytest.mark.parametrize(
    "expr", ["rate(1 hours)", "rate(5 minute)", "rate(0 minutes)", "rate(3 weeks)", "every hour"]
)
def test_bad_rates(expr: str) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(expr)


def test_cron_crosses_month_and_year() -> None:
    cron = parse_schedule("cron(0 12 * * ? *)")
    assert isinstance(cron, Cron)
    assert cron.next_fire(at(2026, 12, 31, 12, 0)) == at(2027, 1, 1, 12, 0)
    assert cron.next_fire(at(2026, 1, 31, 11, 59)) == at(2026, 1, 31, 12, 0)
    monthly = parse_schedule("cron(15 10 1 JAN,JUL ? *)")
    assert isinstance(monthly, Cron)
    assert monthly.next_fire(at(2026, 1, 1, 10, 15)) == at(2026, 7, 1, 10, 15)


def test_cron_day_names_and_steps() -> None:
    weekdays = parse_schedule("cron(0/15 8-9 ? * MON-FRI *)")
    assert isinstance(weekdays, Cron)
    # 2026-12-05 is a Saturday: next is Monday 7th at 08:00
    assert weekdays.next_fire(at(2026, 12, 5, 9, 0)) == at(2026, 12, 7, 8, 0)
    assert weekdays.next_fire(at(2026, 12, 7, 8, 0)) == at(2026, 12, 7, 8, 15)
    sunday = parse_schedule("cron(0 0 ? * 1 *)")
    assert isinstance(sunday, Cron)
    assert sunday.next_fire(at(2026, 12, 1)) == at(2026, 12, 6)
    ended = parse_schedule("cron(0 0 1 1 ? 2020)")
    assert isinstance(ended, Cron)
    assert ended.next_fire(at(2026, 1, 1)) is None


@pytest.mark.parametrize(
    "expr",
    [
        "cron(0 12 * * *)",
        "cron(0 12 * * * *)",
        "cron(0 12 ? * ? *)",
        "cron(61 0 * * ? *)",
        "cron(0 0 5-1 * ? *)",
        "cron(0 ? * * ? *)",
    ],
)
def test_bad_crons(expr: str) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(expr)


@pytest.mark.parametrize(
    "expr", ["cron(0 0 L * ? *)", "cron(0 0 ? * 6#3 *)", "cron(0 0 15W * ? *)"]
)
def test_l_w_hash_are_unsupported(expr: str) -> None:
    with pytest.raises(UnsupportedSchedule, match="not run locally"):
        parse_schedule(expr)
