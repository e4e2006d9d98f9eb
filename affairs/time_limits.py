"""Time limits of cases and tasks in working days: the due instant, pauses, and the clock's status at `now`.

How a limit is counted (docs/working-days.md has examples):
- Limits are in working days (《行政许可法》第八十二条: 以工作日计算，不含法定节假日) on the Asia/Shanghai calendar
  of `WorkCalendar`, holidays and make-up working days included.
- The day of acceptance does not count (期间开始的当日不计入): counting starts at 00:00 of the first working day
  after the acceptance day, whatever the hour of acceptance or the kind of day it was.
- A limit of N working days falls due at 24:00 of the N-th counted working day, stored as the aware UTC instant
  of the next calendar day's 00:00 in Shanghai (`due_date` is that last day, for display).
- Unit of elapsed time: *working time*, where each working day contributes its full 24 hours (00:00-24:00 of its
  Shanghai date) and other days nothing. A limit of N days is N × 24 h of working time; elapsed and remaining
  are measured in it. Whole days are exact; a pause may end mid-day, so partial days are counted to the second.
- Pauses (waiting for the applicant's supplement, 补正; expert review, …) stop the clock: working time inside
  a pause is not counted, so the due instant moves later by exactly what the pause covered. An open pause
  (end None) stops it for good until closed: `due_at` is then None unless the limit was already used up.
- Level: overdue once elapsed working time reaches the limit (i.e. now >= due_at); warning from 80 % of it
  (`warning_at`, for the supervision job); normal before. All are monotonic in `now`.

Everything here is pure: `now` is always a parameter, nothing reads the clock, nothing does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from affairs.workdays import SHANGHAI, WorkCalendar, shanghai_date

DAY = timedelta(days=1)
ZERO = timedelta(0)
_TICK = timedelta(microseconds=1)
WARNING_NUMERATOR, WARNING_DENOMINATOR = 4, 5  # warning from 80 % of the limit, compared exactly


class Pause(NamedTuple):
    """The clock stands from `start` until `end` (None: still waiting). Plain (start, end) tuples work too."""

    start: datetime
    end: datetime | None = None


class Level(StrEnum):
    NORMAL = "normal"
    WARNING = "warning"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class ClockStatus:
    """A limit's state at one instant, ready for the case page, the staff inbox and the supervision job."""

    limit_working_days: int
    due_at: datetime | None  # aware UTC; None while an open pause holds time still to run
    due_date: date | None  # the Shanghai date on which it falls due (its 24:00 for whole-day limits)
    warning_at: datetime | None  # when 80 % is used up (aware UTC), None like due_at
    level: Level
    paused: bool  # `now` is inside a pause
    provisional: bool  # a year in the span has no announced holidays: weekends-only assumption
    elapsed_working_seconds: int
    remaining_working_seconds: int  # negative once overdue
    remaining_working_days: int  # working days touched: 0.5 left → 1, 0.5 overdue → -1
    fraction_elapsed: float  # 0.0 … 1.0, beyond 1.0 once overdue


def clock_start(calendar: WorkCalendar, accepted_at: datetime) -> datetime:
    """00:00 (Shanghai, as UTC) of the first working day after the acceptance day."""
    return _midnight(calendar.next_working_day(shanghai_date(accepted_at)))


def working_time(calendar: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time in [start, end): the parts of working days' 24 hours it covers; zero if end <= start."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        return ZERO
    first, last = shanghai_date(start), shanghai_date(end)
    if first == last:
        return end - start if calendar.is_working_day(first) else ZERO
    total = _midnight(first + DAY) - start if calendar.is_working_day(first) else ZERO
    total += DAY * calendar.working_days_between(first, last - DAY)  # whole days strictly between
    if calendar.is_working_day(last):
        total += end - _midnight(last)
    return total


def elapsed_working_time(calendar: WorkCalendar, *, accepted_at: datetime, now: datetime,
                         pauses: Iterable[tuple[datetime, datetime | None]] = ()) -> timedelta:
    """Working time counted so far: from the clock start to `now`, pauses left out."""
    return _elapsed(calendar, _running(clock_start(calendar, accepted_at), pauses), _utc(now, "now"))


def due_at(calendar: WorkCalendar, *, accepted_at: datetime, working_days: int,
           pauses: Iterable[tuple[datetime, datetime | None]] = ()) -> datetime | None:
    """The instant the limit is used up (aware UTC), or None while an open pause holds time still to run."""
    limit = _limit(working_days)
    return _instant_after(calendar, _running(clock_start(calendar, accepted_at), pauses), limit)


def deadlines(calendar: WorkCalendar, *, accepted_at: datetime, working_days: int,
              pauses: Iterable[tuple[datetime, datetime | None]] = ()) -> tuple[datetime | None, datetime | None]:
    """The due and warning instants (None while an open pause holds the time still to run). They do not depend
    on `now`: a list shows the same cases again and again, so they are computed once per clock."""
    running = _running_of(calendar, _utc(accepted_at, "accepted_at"), tuple(pauses))
    return _deadlines(calendar, running, _limit(working_days))


@lru_cache(maxsize=65_536)
def _running_of(calendar: WorkCalendar, accepted_at: datetime, pauses: tuple[tuple[datetime, datetime | None], ...]
                ) -> tuple[tuple[datetime, datetime | None], ...]:
    return tuple(_running(clock_start(calendar, accepted_at), pauses))


def remaining_working_days(calendar: WorkCalendar, *, accepted_at: datetime, working_days: int, now: datetime,
                           pauses: Iterable[tuple[datetime, datetime | None]] = ()) -> int:
    """`clock_status(...).remaining_working_days` alone (what an inbox row shows), from the clock's remembered
    running intervals: only the time counted up to `now` is computed per call."""
    running = _running_of(calendar, _utc(accepted_at, "accepted_at"), tuple(pauses))
    return _days_touched(_limit(working_days) - _elapsed_today(calendar, running, _utc(now, "now")))


def remaining_working_days_until(calendar: WorkCalendar, *, accepted_at: datetime, working_days: int, now: datetime,
                                 pauses: Iterable[tuple[datetime, datetime | None]] = ()) -> tuple[int, datetime | None]:
    """`remaining_working_days` at `now`, and the instant before which it stays that number (None: it never changes
    again, the clock standing in an open pause). A list shown again and again is rendered once until then.

    The number is the working days touched by the time left, so it holds while the counted time stays below a
    bound: with time left, until only (days - 1) whole days are left; once none is left, until more than |days|
    whole days are overdue (one microsecond past that, the finest step of a datetime)."""
    running = _running_of(calendar, _utc(accepted_at, "accepted_at"), tuple(pauses))
    limit = _limit(working_days)
    remaining = limit - _elapsed_today(calendar, running, _utc(now, "now"))
    days = _days_touched(remaining)
    bound = limit - (days - 1) * DAY if remaining > ZERO else limit - days * DAY + _TICK
    return days, _instant_after(calendar, list(running), bound)


def level_at(due: datetime | None, warning: datetime | None, at: datetime) -> Level:
    """The level at `at` from the two instants: the same answer as `clock_status`, without counting the time."""
    if due is not None and at >= due:
        return Level.OVERDUE
    if warning is not None and at >= warning:
        return Level.WARNING
    return Level.NORMAL


def due_date_of(due: datetime) -> date:
    """The last day of the limit, as shown: the Shanghai date of the instant just before `due`."""
    return shanghai_date(due - _TICK)


def clock_status(calendar: WorkCalendar, *, accepted_at: datetime, working_days: int, now: datetime,
                 pauses: Iterable[tuple[datetime, datetime | None]] = ()) -> ClockStatus:
    """Due instant, remaining working time and level of a limit of `working_days` at `now`."""
    limit, now, pauses = _limit(working_days), _utc(now, "now"), tuple(pauses)
    running = _running(clock_start(calendar, accepted_at), pauses)
    elapsed = _elapsed(calendar, running, now)
    due, warning = _deadlines(calendar, tuple(running), limit)
    if elapsed >= limit:
        level = Level.OVERDUE
    elif elapsed * WARNING_DENOMINATOR >= limit * WARNING_NUMERATOR:
        level = Level.WARNING
    else:
        level = Level.NORMAL
    remaining = limit - elapsed
    horizon = max(now, due) if due else now
    return ClockStatus(
        limit_working_days=working_days,
        due_at=due,
        due_date=due_date_of(due) if due else None,
        warning_at=warning,
        level=level,
        paused=any(_utc(begin, "pause start") <= now and (end is None or now < _utc(end, "pause end"))
                   for begin, end in pauses),
        provisional=_provisional(calendar, shanghai_date(accepted_at), shanghai_date(horizon)),
        elapsed_working_seconds=elapsed // timedelta(seconds=1),
        remaining_working_seconds=remaining // timedelta(seconds=1),
        remaining_working_days=_days_touched(remaining),
        fraction_elapsed=elapsed / limit,
    )


# -- internals ------------------------------------------------------------------------------------------------
Running = list[tuple[datetime, datetime | None]]  # the intervals in which the clock runs, in order


def _elapsed(calendar: WorkCalendar, running: Running, now: datetime) -> timedelta:
    return sum((working_time(calendar, begin, now if end is None or end > now else end)
                for begin, end in running if begin < now), ZERO)


def _days_touched(remaining: timedelta) -> int:
    """Working days touched by the time left: 0.5 left → 1, 0.5 overdue → -1 (floor division: -0.5 day →
    (-1, 0.5 day))."""
    whole, part = divmod(remaining, DAY)
    return whole + (1 if remaining > ZERO and part else 0)


@lru_cache(maxsize=65_536)
def _deadlines(calendar: WorkCalendar, running: tuple[tuple[datetime, datetime | None], ...], limit: timedelta
               ) -> tuple[datetime | None, datetime | None]:
    """The due and warning instants of a clock: they do not depend on `now`, and every list read shows them
    again for the same cases, so they are computed once per clock (and calendar: a new holiday file builds a
    new calendar)."""
    return (_instant_after(calendar, list(running), limit),
            _instant_after(calendar, list(running), limit * WARNING_NUMERATOR // WARNING_DENOMINATOR))


@lru_cache(maxsize=4096)
def _provisional(calendar: WorkCalendar, first: date, last: date) -> bool:
    return calendar.provisional_between(first, last)


def _elapsed_today(calendar: WorkCalendar, running: tuple[tuple[datetime, datetime | None], ...], now: datetime
                   ) -> timedelta:
    """`_elapsed(calendar, running, now)`, split at today's midnight (working time adds up over any split): the
    part before it is remembered per clock and day, the part after is today's overlap when today is worked."""
    today = shanghai_date(now)
    midnight = _midnight(today)
    total = _elapsed_until(calendar, running, midnight)
    if calendar.is_working_day(today):
        for begin, end in running:
            start, stop = max(begin, midnight), now if end is None or end > now else end
            if stop > start:
                total += stop - start
    return total


@lru_cache(maxsize=65_536)
def _elapsed_until(calendar: WorkCalendar, running: tuple[tuple[datetime, datetime | None], ...],
                   midnight: datetime) -> timedelta:
    return _elapsed(calendar, list(running), midnight)


def _instant_after(calendar: WorkCalendar, running: Running, amount: timedelta) -> datetime | None:
    """The earliest instant at which `amount` of working time has been counted."""
    for begin, end in running:
        if end is None:
            return _advance(calendar, begin, amount)
        available = working_time(calendar, begin, end)
        if amount <= available:
            return _advance(calendar, begin, amount)
        amount -= available
    return None  # the clock stands in an open pause with time still to run


def _advance(calendar: WorkCalendar, start: datetime, amount: timedelta) -> datetime:
    """The earliest instant t >= start with working_time(start, t) == amount."""
    if amount <= ZERO:
        return start
    day = shanghai_date(start)
    if calendar.is_working_day(day):
        rest_of_day = _midnight(day + DAY) - start
        if amount <= rest_of_day:
            return start + amount
        amount -= rest_of_day
    whole, part = divmod(amount, DAY)
    days, within = (whole, DAY) if not part else (whole + 1, part)
    return _midnight(calendar.add_working_days(day, days)) + within


def _running(start: datetime, pauses: Iterable[tuple[datetime, datetime | None]]) -> Running:
    """The intervals from `start` on in which the clock runs: [start, ∞) minus the union of the pauses."""
    checked: list[tuple[datetime, datetime | None]] = []
    for begin, end in pauses:
        begin = _utc(begin, "pause start")
        end = None if end is None else _utc(end, "pause end")
        if end is not None and end < begin:
            raise ValueError(f"a pause cannot end ({end.isoformat()}) before it starts ({begin.isoformat()})")
        checked.append((begin, end))
    checked.sort(key=lambda pause: pause[0])
    running: Running = []
    cursor = start
    for begin, end in checked:
        if end is not None and end <= cursor:
            continue
        if begin > cursor:
            running.append((cursor, begin))
        if end is None:
            return running
        cursor = end
    running.append((cursor, None))
    return running


def _limit(working_days: int) -> timedelta:
    if isinstance(working_days, bool) or not isinstance(working_days, int) or working_days < 1:
        raise ValueError(f"a time limit is a whole number of working days >= 1, not {working_days!r}")
    return DAY * working_days


@lru_cache(maxsize=4096)
def _midnight(day: date) -> datetime:
    """00:00 in Shanghai of `day`, as aware UTC."""
    return datetime.combine(day, time(), SHANGHAI).astimezone(UTC)


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")
    return moment.astimezone(UTC)
