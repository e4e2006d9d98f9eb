"""Working days of China: the package's notices, the holiday files (override and validation), uncovered years."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from affairs.holiday_file import HolidayFileError, parse_holiday_tables, read_holiday_file
from affairs.workdays import WorkCalendar, package_overrides, shanghai_date
from config.settings import Settings

CALENDAR = WorkCalendar.load()
PROPERTIES = settings(max_examples=300, deadline=None, database=None)
SHIPPED = Path(__file__).resolve().parents[2] / "affairs" / "holidays.toml"


def first_uncovered_year(calendar: WorkCalendar) -> int:
    return next(year for year in range(2004, 2101) if not calendar.covers(year))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "holidays.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_national_day_2025() -> None:
    off = [date(2025, 10, day) for day in range(1, 9)]
    assert not any(CALENDAR.is_working_day(day) for day in off)
    assert CALENDAR.is_working_day(date(2025, 9, 28))  # Sunday, make-up working day
    assert CALENDAR.is_working_day(date(2025, 10, 11))  # Saturday, make-up working day
    assert not CALENDAR.is_working_day(date(2025, 9, 27))  # an ordinary Saturday
    assert not CALENDAR.is_working_day(date(2025, 10, 12))  # an ordinary Sunday
    assert CALENDAR.is_working_day(date(2025, 10, 9))
    assert CALENDAR.next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert CALENDAR.next_working_day(date(2025, 9, 26)) == date(2025, 9, 28)
    assert CALENDAR.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert CALENDAR.add_working_days(date(2025, 9, 30), 4) == date(2025, 10, 13)
    # Sep 28, 29, 30, Oct 9, 10, 11, 13
    assert CALENDAR.working_days_between(date(2025, 9, 26), date(2025, 10, 13)) == 7
    assert CALENDAR.working_days_between(date(2025, 10, 13), date(2025, 9, 26)) == -7
    assert not CALENDAR.is_provisional(date(2025, 10, 1))


def test_spring_festival_2026() -> None:
    assert not any(CALENDAR.is_working_day(date(2026, 2, day)) for day in range(15, 24))
    assert CALENDAR.is_working_day(date(2026, 2, 14))  # Saturday before, make-up
    assert CALENDAR.is_working_day(date(2026, 2, 28))  # Saturday after, make-up
    assert CALENDAR.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_counting_crosses_new_year() -> None:
    # 2026-01-01..03 off, Sunday 2026-01-04 a make-up working day
    assert CALENDAR.next_working_day(date(2025, 12, 31)) == date(2026, 1, 4)
    assert CALENDAR.working_days_between(date(2025, 12, 30), date(2026, 1, 5)) == 3
    # 261 weekdays - 18 weekday holidays + 5 make-up days (Jan 1 is a holiday, so (Jan 1, Dec 31] is all of them)
    assert CALENDAR.working_days_between(date(2025, 1, 1), date(2025, 12, 31)) == 248
    assert CALENDAR.add_working_days(date(2025, 12, 31), 0) == date(2025, 12, 31)


def test_agrees_with_the_package_on_every_day_it_covers() -> None:
    calendar = WorkCalendar(package_overrides())
    day, last = min(chinese_calendar.holidays).replace(month=1, day=1), max(chinese_calendar.holidays)
    while day <= last:
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_refuses_instants_and_backwards_counting() -> None:
    with pytest.raises(TypeError, match="shanghai_date"):
        CALENDAR.is_working_day(datetime(2025, 10, 1, 12))
    with pytest.raises(ValueError, match="n must be"):
        CALENDAR.add_working_days(date(2025, 10, 1), -1)
    with pytest.raises(ValueError, match="aware"):
        shanghai_date(datetime(2025, 10, 1))
    assert shanghai_date(datetime.fromisoformat("2025-09-30T16:30:00+00:00")) == date(2025, 10, 1)


def test_admin_file_overrides_the_package_and_covers_a_new_year(tmp_path: Path) -> None:
    year = first_uncovered_year(CALENDAR)
    saturday = next(date(year, 1, day) for day in range(4, 11) if date(year, 1, day).weekday() == 5)
    path = write(tmp_path, f"""
[2025]
source = "a correction"
holidays = ["2025-10-09"]
workdays = [2025-10-04]

[{year}]
holidays = ["{year}-01-01..{year}-01-03"]
workdays = ["{saturday.isoformat()}"]
""")
    calendar = WorkCalendar.from_settings(Settings(holidays_file=path))
    assert not calendar.is_working_day(date(2025, 10, 9))
    assert calendar.is_working_day(date(2025, 10, 4))
    assert calendar.is_working_day(date(2025, 10, 10))  # untouched days keep the package's answer
    assert calendar.covers(year) and not calendar.is_provisional(date(year, 6, 1))
    assert not any(calendar.is_working_day(date(year, 1, day)) for day in (1, 2, 3))
    assert calendar.is_working_day(saturday)
    assert not calendar.is_working_day(saturday + timedelta(days=7))
    assert calendar.sources[-1] == str(path)


def test_later_layers_win_day_by_day() -> None:
    package, day = package_overrides(), date(2025, 10, 9)
    off = parse_holiday_tables({"2025": {"holidays": ["2025-10-09"]}}, "off")
    on = parse_holiday_tables({"2025": {"workdays": ["2025-10-09"]}}, "on")
    assert not WorkCalendar(package, off).is_working_day(day)
    assert WorkCalendar(package, off, on).is_working_day(day)
    assert not WorkCalendar(package, on, off).is_working_day(day)


def test_a_bad_file_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, """
[2027]
holidays = ["2027-02-30", "2027-10-07..2027-10-01", "2027-10-01..2027-12-31", "2028-01-01", 2027-05-01T08:00:00]
workdays = ["2027-06-01"]
holiday = ["2027-06-02"]
source = 5

[2028]
holidays = ["2028-06-01"]
workdays = ["2028-06-01", "not a day"]

[next-year]
holidays = []
""")
    with pytest.raises(HolidayFileError) as caught:
        WorkCalendar.load(path)
    problems = "\n".join(caught.value.problems)
    assert str(path) in str(caught.value)
    for expected in [
        r"holidays\[0\] '2027-02-30': no such day",
        r"holidays\[1\] '2027-10-07..2027-10-01': a range must run forwards",
        r"holidays\[2\] .*: a range of more than 15 days",
        r"holidays\[3\] '2028-01-01': outside 2027",
        r"holidays\[4\] .*: a date without a time of day",
        r"\[2027\] holiday: unknown key",
        r"\[2027\] source: must be a string",
        r"\[2028\] 2028-06-01: listed both as a holiday and as a workday",
        r"\[2028\] workdays\[1\] 'not a day': not a date",
        r"\[next-year\]: tables must be named by a year",
    ]:
        assert re.search(expected, problems), f"missing {expected!r} in:\n{problems}"
    assert len(caught.value.problems) == 10


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "file not found"),
        ("[2027\nholidays = [", "not valid TOML"),
        ('[2027]\nholidays = "2027-01-01"', "must be a list of dates"),
        ("2027 = 1", "must be a table"),
    ],
)
def test_unreadable_files_stop_start_up(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "holidays.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(HolidayFileError, match=problem):
        WorkCalendar.from_settings(Settings(holidays_file=path))


def test_a_notice_may_reach_into_the_previous_december(tmp_path: Path) -> None:
    # e.g. the 2019 notice: 2018-12-30..2019-01-01 off, 2018-12-29 (Saturday) worked
    overrides = read_holiday_file(write(tmp_path, '[2019]\nholidays = ["2018-12-30..2019-01-01"]\n'
                                                  'workdays = ["2018-12-29"]'))
    assert date(2018, 12, 31) in overrides.holidays and date(2018, 12, 29) in overrides.workdays
    assert overrides.years == {2019}


def test_the_shipped_file_parses_and_its_example_is_the_real_2026_notice(tmp_path: Path) -> None:
    shipped = read_holiday_file(SHIPPED)
    example = "\n".join(line.removeprefix("# ") for line in SHIPPED.read_text().splitlines()
                        if line.startswith(("# [", "# source", "# holidays", "#     ", "# ]", "# workdays")))
    overrides = read_holiday_file(write(tmp_path, example))
    package = package_overrides()
    assert overrides.years == {2026}
    assert overrides.holidays == {day for day in package.holidays if day.year == 2026}
    assert overrides.workdays == {day for day in package.workdays if day.year == 2026}
    assert shipped.source == str(SHIPPED)


def test_an_uncovered_year_is_weekends_only_provisional_and_logged_once() -> None:
    calendar = WorkCalendar(package_overrides())
    year = first_uncovered_year(calendar)
    assert calendar.covers(year - 1) and not calendar.covers(year)
    monday = next(date(year, 1, day) for day in range(1, 8) if date(year, 1, day).weekday() == 0)
    with structlog.testing.capture_logs() as logs:
        assert calendar.is_working_day(date(year, 1, 1)) == (date(year, 1, 1).weekday() < 5)  # New Year unknown
        assert calendar.is_working_day(monday) and not calendar.is_working_day(monday + timedelta(days=5))
        assert calendar.working_days_between(date(year, 1, 1), date(year, 12, 31)) > 255
        assert calendar.is_provisional(monday)
        assert calendar.provisional_between(date(year - 1, 12, 1), monday)
        assert not calendar.provisional_between(date(year - 1, 1, 1), date(year - 1, 12, 31))
    warnings = [entry for entry in logs if entry["event"] == "holidays_unknown_for_year"]
    assert [entry["year"] for entry in warnings] == [year]
    assert warnings[0]["log_level"] == "warning"


# -- properties ---------------------------------------------------------------------------------------------
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2028, 12, 31))


@PROPERTIES
@given(day=days, n=st.integers(min_value=1, max_value=600))
def test_add_lands_on_a_working_day_and_between_inverts_it(day: date, n: int) -> None:
    result = CALENDAR.add_working_days(day, n)
    assert result > day and CALENDAR.is_working_day(result)
    assert CALENDAR.working_days_between(day, result) == n
    assert CALENDAR.working_days_between(day, result - timedelta(days=1)) == n - 1


@PROPERTIES
@given(start=days, length=st.integers(min_value=0, max_value=800))
def test_between_counts_the_days_one_by_one(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    counted = sum(CALENDAR.is_working_day(start + timedelta(days=i)) for i in range(1, length + 1))
    assert CALENDAR.working_days_between(start, end) == counted


@PROPERTIES
@given(a=days, b=days, c=days)
def test_between_is_additive_and_antisymmetric(a: date, b: date, c: date) -> None:
    between = CALENDAR.working_days_between
    assert between(a, b) + between(b, c) == between(a, c)
    assert between(a, b) == -between(b, a)
