"""AWS EventBridge schedule expressions: parsing and "next fire time after t".

Pure (no I/O) so that `cirro serve` (engine) and validation can share one reading of
`rate(...)` and `cron(...)` as AWS defines them: rate units singular only for 1, cron with
six UTC fields (minute hour day-of-month month day-of-week year), day-of-week 1-7 = SUN-SAT,
and exactly one of day-of-month / day-of-week being `?`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = [
    "Cron",
    "Rate",
    "ScheduleError",
    "UnsupportedSchedule",
    "parse_schedule",
]

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, {}),
)


class ScheduleError(ValueError):
    """A malformed expression; the message says what is wrong and the accepted form."""


class UnsupportedSchedule(ScheduleError):
    """Valid on AWS but not run locally (L, W, #); the message says why."""


@dataclass(frozen=True)
class Rate:
    """`rate(N unit)`: fires every `seconds`, counted from when the schedule started."""

    seconds: int

    def next_fire(self, after: dt.datetime, start: dt.datetime) -> dt.datetime:
        """First `start + k*seconds` (k >= 1) strictly after `after`: no catch-up of missed fires."""
        elapsed = (after - start).total_seconds()
        k = max(1, int(elapsed // self.seconds) + 1)
        return start + dt.timedelta(seconds=k * self.seconds)


@dataclass(frozen=True)
class Cron:
    """`cron(...)`: the sets of allowed values per field; None means `?` (any)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None
    months: frozenset[int]
    weekdays: frozenset[int] | None
    years: frozenset[int]

    def _day_matches(self, day: dt.date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days is not None and day.day not in self.days:
            return False
        aws_dow = (day.weekday() + 1) % 7 + 1  # Python Mon=0 -> AWS SUN=1..SAT=7
        return self.weekdays is None or aws_dow in self.weekdays

    def next_fire(self, after: dt.datetime, start: dt.datetime | None = None) -> dt.datetime | None:
        """First matching UTC minute strictly after `after`, or None when none is left (years run out)."""
        after = after.astimezone(dt.UTC)
        day = after.date()
        last = dt.date(max(self.years), 12, 31)
        while day <= last:
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        when = dt.datetime(
                            day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC
                        )
                        if when > after:
                            return when
            day += dt.timedelta(days=1)
        return None


def _parse_field(text: str, index: int, expr: str) -> frozenset[int] | None:
    name, low, high, names = _FIELDS[index]
    if text == "?":
        if name not in ("day-of-month", "day-of-week"):
            raise ScheduleError(
                f"{expr}: '?' is only allowed in day-of-month or day-of-week, not {name}"
            )
        return None
    if re.search(r"[LW#]", text.upper().replace("WED", "")) and not all(
        part.upper() in names for part in re.split(r"[,\-/]", text)
    ):
        raise UnsupportedSchedule(
            f"{expr}: {name} '{text}' uses L, W or #, which cirro serve does not run locally"
        )

    def value(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise ScheduleError(f"{expr}: {name} value '{token}' is not a number in {low}-{high}")
        number = int(token)
        if not low <= number <= high:
            raise ScheduleError(f"{expr}: {name} value {number} is outside {low}-{high}")
        return number

    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"{expr}: {name} step '/{step_text}' must be a positive number")
            step = int(step_text)
        if base == "*":
            first, final = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, final = value(a), value(b)
            if first > final:
                raise ScheduleError(f"{expr}: {name} range '{base}' runs backwards")
        else:
            first = value(base)
            final = high if step_text else first
        values.update(range(first, final + 1, step))
    return frozenset(values)


def parse_schedule(expr: str) -> Rate | Cron:
    """Read `rate(...)` or `cron(...)`; raise ScheduleError naming what is wrong and the accepted form."""
    text = expr.strip()
    match = re.fullmatch(r"rate\(\s*(\d+)\s+([a-z]+)\s*\)", text)
    if match:
        number, unit = int(match.group(1)), match.group(2)
        singular = unit[:-1] if unit.endswith("s") else unit
        if singular not in _UNITS or number == 0:
            raise ScheduleError(f"{expr}: write rate(N minutes|hours|days) with N >= 1")
        if (number == 1) != (unit == singular):
            raise ScheduleError(
                f"{expr}: AWS wants the singular unit for 1 and the plural otherwise, e.g. rate(1 hour), rate(5 hours)"
            )
        return Rate(number * _UNITS[singular])
    match = re.fullmatch(r"cron\((.*)\)", text)
    if not match:
        raise ScheduleError(
            f"{expr}: a schedule is rate(N unit) or cron(min hour day-of-month month day-of-week year)"
        )
    fields = match.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(
            f"{expr}: cron needs 6 fields (min hour day-of-month month day-of-week year), got {len(fields)}"
        )
    parsed = [_parse_field(f, i, expr) for i, f in enumerate(fields)]
    if (parsed[2] is None) == (parsed[4] is None):
        raise ScheduleError(f"{expr}: exactly one of day-of-month and day-of-week must be '?'")
    minutes, hours, days, months, weekdays, years = parsed
    assert minutes is not None and hours is not None and months is not None and years is not None
    return Cron(minutes, hours, days, months, weekdays, years)
