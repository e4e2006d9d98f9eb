"""China's working days (Asia/Shanghai): public holidays, make-up working days (调休), and counting them.

Sources, each overriding the one before it day by day:
1. the `chinese-calendar` package (State Council notices, 2004 up to the year of its release);
2. `affairs/holidays.toml`, shipped with the code, where a newly announced year is added by a commit;
3. the file named by `ZSB_HOLIDAYS_FILE` (optional), which an admin edits on the server without a release.
Files are checked when the calendar is built (process start-up): a bad date, a day listed both as holiday and
workday, an unknown key → `HolidayFileError` naming every problem, and the process does not start.

A year no source covers (the next year's notice not yet published, or not yet entered) is counted honestly
rather than guessed: Monday to Friday are working days, weekends are not, and every answer touching that year is
*provisional* (`is_provisional`, `ClockStatus.provisional`) so the UI can say "以国务院公布的节假日安排为准".
A warning is logged once per year and calendar (one calendar per process), telling admins to add the notice.
Guessing festival dates from the lunar calendar was rejected: the notice, not the festival, decides which days
are off and which weekends work.

Speed: the staff inbox computes clocks for every row of a page, so each year is turned once into a table of
cumulative working-day counts; every question is then a lookup or a binary search.
"""

from __future__ import annotations

import bisect
import importlib.resources
from array import array
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import chinese_calendar
import structlog

from affairs.holiday_file import HolidayFileError, HolidayOverrides, read_holiday_file

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["SHANGHAI", "HolidayFileError", "WorkCalendar", "shanghai_date"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def package_overrides() -> HolidayOverrides:
    """The `chinese-calendar` package's data; the years between its first and last notice are covered."""
    holidays = frozenset(chinese_calendar.holidays)
    workdays = frozenset(chinese_calendar.workdays)
    first, last = min(holidays).year, max(holidays).year
    return HolidayOverrides(f"chinese-calendar {chinese_calendar.__version__}", holidays, workdays,
                            frozenset(range(first, last + 1)))


def shipped_overrides() -> HolidayOverrides:
    """`affairs/holidays.toml`, shipped as package data."""
    resource = importlib.resources.files("affairs").joinpath("holidays.toml")
    with importlib.resources.as_file(resource) as path:
        return read_holiday_file(path)


@dataclass(frozen=True, slots=True)
class _Year:
    """One year: whether each day works, and cumulative counts: cum[i] = working days among its first i days."""

    first: date
    working: bytes
    cum: array[int]

    @property
    def total(self) -> int:
        return self.cum[-1]

    def count_through(self, day: date) -> int:
        return self.cum[day.toordinal() - self.first.toordinal() + 1]


class WorkCalendar:
    """Working days in China. Immutable once built; year tables are computed on first use and kept."""

    def __init__(self, *layers: HolidayOverrides) -> None:
        holidays: set[date] = set()
        workdays: set[date] = set()
        years: set[int] = set()
        for layer in layers:  # later layers win, day by day
            holidays = (holidays - layer.workdays) | layer.holidays
            workdays = (workdays - layer.holidays) | layer.workdays
            years |= layer.years
        self._holidays, self._workdays = frozenset(holidays), frozenset(workdays)
        self._covered = frozenset(years)
        self.sources = tuple(layer.source for layer in layers)
        self._years: dict[int, _Year] = {}

    @classmethod
    def load(cls, extra_file: Path | str | None = None) -> WorkCalendar:
        """Package, shipped file, then the admin's file (if any); raises `HolidayFileError` on a bad file."""
        layers = [package_overrides(), shipped_overrides()]
        if extra_file:
            layers.append(read_holiday_file(extra_file))
        return cls(*layers)

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkCalendar:
        return cls.load(settings.holidays_file)

    # -- questions about one day ------------------------------------------------------------------------------
    def covers(self, year: int) -> bool:
        """Whether an announced holiday arrangement for `year` is known."""
        return year in self._covered

    def is_provisional(self, day: date) -> bool:
        """True when `day`'s year is not covered and the answer assumes weekends only."""
        return not self.covers(_checked(day).year)

    def provisional_between(self, first: date, last: date) -> bool:
        """Whether any year from `first` to `last` (either order) is not covered."""
        low, high = sorted((_checked(first).year, _checked(last).year))
        return any(not self.covers(year) for year in range(low, high + 1))

    def is_working_day(self, day: date) -> bool:
        table = self._year(_checked(day).year)
        return bool(table.working[day.toordinal() - table.first.toordinal()])

    # -- counting -------------------------------------------------------------------------------------------
    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.add_working_days(day, 1)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day` (n >= 1); n = 0 gives `day` itself.

        So `add_working_days(accepted, 5)` is the last day of a 5-working-day limit accepted on `accepted`.
        """
        if n < 0:
            raise ValueError("n must be >= 0: counting backwards is not needed for time limits")
        table = self._year(_checked(day).year)
        if n == 0:
            return day
        target = table.count_through(day) + n
        while target > table.total:
            target -= table.total
            table = self._year(table.first.year + 1)
        index = bisect.bisect_left(table.cum, target)  # first i with cum[i] >= target: day i is that working day
        return table.first + timedelta(days=index - 1)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start.

        The inverse of `add_working_days`: `working_days_between(d, add_working_days(d, n)) == n`.
        """
        if end < start:
            return -self.working_days_between(end, start)
        first, last = self._year(_checked(start).year), self._year(_checked(end).year)
        if first is last:
            return last.count_through(end) - first.count_through(start)
        middle = sum(self._year(year).total for year in range(start.year + 1, end.year))
        return first.total - first.count_through(start) + middle + last.count_through(end)

    # -- year tables ----------------------------------------------------------------------------------------
    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            table = self._years[year] = self._build(year)
        return table

    def _build(self, year: int) -> _Year:
        if not self.covers(year):
            structlog.get_logger(__name__).warning("holidays_unknown_for_year", year=year, assumption="Monday-Friday work, weekends off",
                        fix="add the State Council notice to ZSB_HOLIDAYS_FILE (docs/working-days.md)")
        first = date(year, 1, 1)
        days = (date(year + 1, 1, 1) - first).days
        working = bytearray(days)
        cum = array("I", [0]) * (days + 1)
        for index in range(days):
            day = first + timedelta(days=index)
            working[index] = day in self._workdays or (day.weekday() < 5 and day not in self._holidays)
            cum[index + 1] = cum[index] + working[index]
        return _Year(first, bytes(working), cum)


def _checked(day: date) -> date:
    """Refuse datetimes: a UTC instant's date is not its Shanghai date (use `shanghai_date`)."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a date, got {type(day).__name__}; convert instants with shanghai_date()")
    return day


def shanghai_date(moment: datetime) -> date:
    """The calendar date in Asia/Shanghai of an aware instant."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("expected an aware datetime (times are stored as aware UTC)")
    return moment.astimezone(SHANGHAI).date()
