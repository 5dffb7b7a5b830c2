"""A small 5-field cron matcher for sync windows (``minute hour day-of-month month day-of-week``). Pure.

Used by :mod:`reconciler.apply.windows` to list when a window starts; our own
(about a hundred lines) rather than a dependency, since only matching and
listing start times are needed. Fields take ``*``, numbers, ``a-b`` ranges,
``/step`` and comma lists; months ``jan``-``dec`` and days ``sun``-``sat`` by
name; day-of-week 0-7 (0 and 7 are Sunday). As in Vixie cron, when both
day-of-month and day-of-week are restricted a day matching either one
matches. Times are wall-clock times in the window's time zone; the caller
turns them into instants.
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

_MONTHS = {name: i for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DAYS = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
#: (name, low, high, names) of the five fields.
_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
           ("month", 1, 12, _MONTHS), ("day of week", 0, 7, _DAYS))


class CronError(ValueError):
    """Not a 5-field cron expression (the message names the field), or an unknown time zone."""


@dataclass(frozen=True)
class Cron:
    """A parsed expression: the allowed values of each field."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]          # 0 = Sunday … 6 = Saturday (7 folded into 0)
    any_day: bool                     # day of month is ``*``
    any_weekday: bool                 # day of week is ``*``

    def matches_day(self, day: _dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def matches(self, when: _dt.datetime) -> bool:
        """Whether the wall-clock minute ``when`` is a start time."""
        return when.minute in self.minutes and when.hour in self.hours and self.matches_day(when.date())

    def times_between(self, first: _dt.date, last: _dt.date) -> Iterator[_dt.datetime]:
        """Every matching wall-clock minute (naive) of the days ``first``..``last``, in order."""
        day = first
        while day <= last:
            if self.matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        yield _dt.datetime(day.year, day.month, day.day, hour, minute)
            day += _dt.timedelta(days=1)


def zone(name: str) -> _dt.tzinfo:
    """``UTC`` (needs no time zone database) or an IANA name such as ``Europe/London``; else :class:`CronError`."""
    if name == "UTC":
        return _dt.timezone.utc
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone {name!r} (use an IANA name such as Europe/London, or UTC)") from None


def parse(text: str) -> Cron:
    """``"0 9 * * mon-fri"`` -> :class:`Cron`; :class:`CronError` naming the bad field otherwise."""
    parts = str(text).split()
    if len(parts) != 5:
        raise CronError(f"cron {text!r} must have 5 fields: minute hour day-of-month month day-of-week")
    values = [_field(part, *spec) for part, spec in zip(parts, _FIELDS)]
    weekdays = frozenset(d % 7 for d in values[4])
    return Cron(str(text), values[0], values[1], values[2], values[3], weekdays,
                any_day=parts[2] == "*", any_weekday=parts[4] == "*")


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    out: set[int] = set()
    for item in text.split(","):
        body, _, step_text = item.partition("/")
        step = _number(step_text, name, {}) if step_text else 1
        if step < 1:
            raise CronError(f"cron {name}: step must be at least 1 in {item!r}")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            start, end = _number(a, name, names), _number(b, name, names)
        else:
            start = _number(body, name, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise CronError(f"cron {name}: {item!r} is outside {low}-{high}")
        out.update(range(start, end + 1, step))
    return frozenset(out)


def _number(text: str, name: str, names: dict[str, int]) -> int:
    word = text.strip().lower()
    if word in names:
        return names[word]
    if not word.isdigit():
        raise CronError(f"cron {name}: {text!r} is not a number" + (" or a name" if names else ""))
    return int(word)
