"""Holiday data files (TOML) that extend or correct the `chinese-calendar` package, checked strictly.

The State Council announces each year's holidays and make-up working days (调休) in one notice, usually in
November; the package follows with a release some time later. Until then an admin writes the notice into a file:

    [2027]
    source = "国办发明电〔2026〕N号"
    holidays = ["2027-01-01..2027-01-03", "2027-02-06..2027-02-13"]
    workdays = ["2027-02-14"]

One table per year; the table's presence says "this year's notice is here", so the year stops being provisional.
Dates are TOML dates or strings, `a..b` is an inclusive range. A notice may reach into the December before its
year (New Year spans), so dates from December of the previous year are accepted too. Every problem of a file is
reported at once, with the file and the entry, so a bad file stops start-up with a message an admin can act on.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

_KEYS = {"holidays", "workdays", "source"}
_YEAR = re.compile(r"\d{4}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_SPAN_DAYS = 15  # the longest span ever announced is 9 days (2026 Spring Festival): longer is a typo
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True, slots=True)
class HolidayOverrides:
    """What one source says: days off, make-up working days, and the years whose notice it holds."""

    source: str
    holidays: frozenset[date]
    workdays: frozenset[date]
    years: frozenset[int]


class HolidayFileError(ValueError):
    """A holiday file that cannot be trusted; `problems` lists every bad entry."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__(f"holiday file {path}: " + "; ".join(problems))


def read_holiday_file(path: Path | str) -> HolidayOverrides:
    """Parse and check one file; raises `HolidayFileError` listing every problem."""
    name = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HolidayFileError(name, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HolidayFileError(name, [f"cannot read it: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise HolidayFileError(name, [f"not valid TOML: {exc}"]) from None
    return parse_holiday_tables(data, name)


def parse_holiday_tables(data: dict[str, Any], source: str) -> HolidayOverrides:
    """Check the parsed tables of one file (split from reading so the rules are testable without files)."""
    problems: list[str] = []
    holidays: set[date] = set()
    workdays: set[date] = set()
    years: set[int] = set()
    for key, table in data.items():
        if not _YEAR.fullmatch(key) or not FIRST_YEAR <= int(key) <= LAST_YEAR:
            problems.append(f"[{key}]: tables must be named by a year {FIRST_YEAR}..{LAST_YEAR}, like [2027]")
            continue
        if not isinstance(table, dict):
            problems.append(f"{key}: must be a table [{key}] with holidays = [...] and workdays = [...]")
            continue
        year = int(key)
        years.add(year)
        problems.extend(f"[{key}] {name}: unknown key (expected holidays, workdays, source)"
                        for name in sorted(set(table) - _KEYS))
        if "source" in table and not isinstance(table["source"], str):
            problems.append(f"[{key}] source: must be a string (the notice, e.g. 国办发明电〔2026〕N号)")
        off = _days(year, "holidays", table.get("holidays", []), problems)
        on = _days(year, "workdays", table.get("workdays", []), problems)
        problems.extend(f"[{key}] {day.isoformat()}: listed both as a holiday and as a workday"
                        for day in sorted(off & on))
        holidays |= off
        workdays |= on
    if problems:
        raise HolidayFileError(source, problems)
    return HolidayOverrides(source, frozenset(holidays), frozenset(workdays), frozenset(years))


def _days(year: int, name: str, items: object, problems: list[str]) -> set[date]:
    if not isinstance(items, list):
        problems.append(f"[{year}] {name}: must be a list of dates")
        return set()
    days: set[date] = set()
    earliest, latest = date(year - 1, 12, 1), date(year, 12, 31)
    for index, item in enumerate(items):
        where = f"[{year}] {name}[{index}] {item!r}"
        span = _span(item)
        if isinstance(span, str):
            problems.append(f"{where}: {span}")
            continue
        first, last = span
        if not earliest <= first <= last <= latest:
            problems.append(f"{where}: outside {year} (only {earliest.isoformat()}..{latest.isoformat()})")
            continue
        days.update(first + timedelta(days=offset) for offset in range((last - first).days + 1))
    return days


def _span(item: object) -> tuple[date, date] | str:
    """(first, last) of one entry, or why it is not a date or a range."""
    if isinstance(item, datetime):
        return "a date without a time of day, please"
    if isinstance(item, date):
        return item, item
    if not isinstance(item, str):
        return "not a date (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)"
    parts = item.strip().split("..")
    if len(parts) > 2 or not all(_DAY.fullmatch(part.strip()) for part in parts):
        return "not a date (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)"
    try:
        first, last = date.fromisoformat(parts[0].strip()), date.fromisoformat(parts[-1].strip())
    except ValueError as exc:
        return f"no such day ({exc})"
    if last < first:
        return "a range must run forwards"
    if (last - first).days >= MAX_SPAN_DAYS:
        return f"a range of more than {MAX_SPAN_DAYS} days is surely a typo; split it"
    return first, last
