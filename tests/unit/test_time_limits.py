"""Time limits in working days: due instants across holidays and make-up days, pauses, levels, provisional years."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from affairs import case_clock
from affairs.case_tasks import new_task, task_view, task_view_until
from affairs.time_limits import (
    ClockStatus,
    Level,
    Pause,
    clock_start,
    clock_status,
    due_at,
    elapsed_working_time,
    remaining_working_days,
    remaining_working_days_until,
    working_time,
)
from affairs.workdays import WorkCalendar, package_overrides

CALENDAR = WorkCalendar.load()
SH = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
PROPERTIES = settings(max_examples=200, deadline=None, database=None)


def sh(text: str) -> datetime:
    """A Shanghai wall-clock time, as the aware instant a case would store."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def status(accepted: datetime, days: int, now: datetime, pauses: list[Pause] | None = None,
           calendar: WorkCalendar = CALENDAR) -> ClockStatus:
    return clock_status(calendar, accepted_at=accepted, working_days=days, now=now, pauses=pauses or [])


# Friday before National Day 2025: counting starts on the make-up Sunday Sep 28; then Sep 29, 30, Oct 9, 10.
ACCEPTED = sh("2025-09-26T15:00")


def test_a_limit_across_national_day_and_its_make_up_days() -> None:
    assert clock_start(CALENDAR, ACCEPTED) == sh("2025-09-28T00:00")
    due = due_at(CALENDAR, accepted_at=ACCEPTED, working_days=5)
    assert due == sh("2025-10-11T00:00") and due.tzinfo is UTC  # 24:00 of Friday Oct 10, stored as UTC
    assert due == datetime(2025, 10, 10, 16, tzinfo=UTC)
    assert due_at(CALENDAR, accepted_at=ACCEPTED, working_days=6) == sh("2025-10-12T00:00")  # make-up Sat Oct 11
    assert due_at(CALENDAR, accepted_at=ACCEPTED, working_days=7) == sh("2025-10-14T00:00")  # Sunday skipped


def test_the_example_of_the_docs() -> None:  # docs/working-days.md
    wait = Pause(sh("2025-09-29T12:00"), sh("2025-10-09T12:00"))
    assert working_time(CALENDAR, wait.start, wait.end) == 2 * DAY
    assert due_at(CALENDAR, accepted_at=ACCEPTED, working_days=5, pauses=[wait]) == sh("2025-10-14T00:00")
    assert status(ACCEPTED, 5, sh("2025-10-13T12:00"), [wait]).due_date == date(2025, 10, 13)


def test_the_acceptance_day_never_counts() -> None:
    # accepted on a holiday, at one minute to midnight, or at the first minute of a working day
    assert clock_start(CALENDAR, sh("2025-10-03T10:00")) == sh("2025-10-09T00:00")
    assert clock_start(CALENDAR, sh("2025-10-09T23:59")) == sh("2025-10-10T00:00")
    assert clock_start(CALENDAR, sh("2025-10-10T00:00")) == sh("2025-10-11T00:00")  # make-up Saturday
    # an instant given in UTC is read on the Shanghai calendar: 2025-09-30T16:30Z is Oct 1 00:30 in Shanghai
    assert clock_start(CALENDAR, datetime(2025, 9, 30, 16, 30, tzinfo=UTC)) == sh("2025-10-09T00:00")


def test_spring_festival_2026() -> None:
    # Friday Feb 13; make-up Saturday Feb 14 counts, Feb 15-23 are off, then Feb 24, 25
    due = due_at(CALENDAR, accepted_at=sh("2026-02-13T10:00"), working_days=3)
    assert due == sh("2026-02-26T00:00")
    assert status(sh("2026-02-13T10:00"), 3, sh("2026-02-20T12:00")).remaining_working_days == 2


def test_status_through_the_life_of_a_limit() -> None:
    start = status(ACCEPTED, 5, ACCEPTED)
    assert (start.level, start.remaining_working_days, start.fraction_elapsed) == (Level.NORMAL, 5, 0.0)
    assert start.due_date == date(2025, 10, 10) and not start.paused and not start.provisional
    assert start.warning_at == sh("2025-10-10T00:00")  # 4 of 5 working days used

    holiday = status(ACCEPTED, 5, sh("2025-10-05T12:00"))  # Sep 28, 29, 30 used, then the holiday
    assert holiday.elapsed_working_seconds == 3 * 86_400 and holiday.remaining_working_days == 2
    assert holiday.level is Level.NORMAL

    warning = status(ACCEPTED, 5, sh("2025-10-10T00:00"))
    assert warning.level is Level.WARNING and warning.fraction_elapsed == pytest.approx(0.8)
    assert status(ACCEPTED, 5, sh("2025-10-09T23:59:59")).level is Level.NORMAL

    last_day = status(ACCEPTED, 5, sh("2025-10-10T12:00"))
    assert last_day.remaining_working_seconds == 43_200 and last_day.remaining_working_days == 1

    at_due = status(ACCEPTED, 5, sh("2025-10-11T00:00"))
    assert at_due.level is Level.OVERDUE and at_due.remaining_working_seconds == 0

    late = status(ACCEPTED, 5, sh("2025-10-11T12:00"))  # the make-up Saturday counts against the case
    assert late.level is Level.OVERDUE and late.remaining_working_days == -1
    assert late.fraction_elapsed == pytest.approx(1.1)
    sunday = status(ACCEPTED, 5, sh("2025-10-12T20:00"))  # Sunday adds nothing
    assert sunday.remaining_working_seconds == -86_400 and sunday.remaining_working_days == -1
    assert status(ACCEPTED, 5, sh("2025-10-13T09:00")).remaining_working_days == -2


def test_a_pause_in_the_middle_moves_the_due_instant_by_the_working_time_it_covers() -> None:
    accepted = sh("2025-09-22T10:00")  # Monday; counts Sep 23, 24, 25, 26, 28 → due Sep 29 00:00
    assert due_at(CALENDAR, accepted_at=accepted, working_days=5) == sh("2025-09-29T00:00")
    pause = Pause(sh("2025-09-24T12:00"), sh("2025-10-09T09:00"))  # waits for a supplement over National Day
    # before: Sep 23 + half of Sep 24 = 1.5 days; after: Oct 9 from 09:00 (15 h), Oct 10, Oct 11 (make-up
    # Saturday), and the last 21 h on Monday Oct 13
    assert due_at(CALENDAR, accepted_at=accepted, working_days=5, pauses=[pause]) == sh("2025-10-13T21:00")
    inside = working_time(CALENDAR, pause.start, pause.end)
    assert inside == timedelta(days=5, hours=21)  # Sep 24 pm, 25, 26, 28, 29, 30 and Oct 9 until 09:00
    # the working time between the two due instants is exactly what the pause held
    assert working_time(CALENDAR, sh("2025-09-29T00:00"), sh("2025-10-13T21:00")) == inside
    during = status(accepted, 5, sh("2025-10-01T12:00"), [pause])
    assert during.paused and during.level is Level.NORMAL
    assert during.elapsed_working_seconds == 36 * 3600 and during.remaining_working_days == 4
    after = status(accepted, 5, sh("2025-10-13T20:59"), [pause])
    assert after.level is Level.WARNING and not after.paused and after.remaining_working_seconds == 60
    assert status(accepted, 5, sh("2025-10-13T21:00"), [pause]).level is Level.OVERDUE


def test_an_open_pause_stops_the_clock_and_hides_the_due_instant() -> None:
    accepted = sh("2025-09-22T10:00")
    waiting = [(sh("2025-09-24T12:00"), None)]  # plain tuples work too
    assert due_at(CALENDAR, accepted_at=accepted, working_days=5, pauses=waiting) is None
    months_later = status(accepted, 5, sh("2026-03-01T12:00"), waiting)
    assert months_later.paused and months_later.due_at is None and months_later.due_date is None
    assert months_later.level is Level.NORMAL and months_later.fraction_elapsed == pytest.approx(0.3)
    # a pause opened after the limit ran out changes nothing: the case stays overdue
    late_pause = [(sh("2025-10-01T09:00"), None)]
    overdue = status(accepted, 5, sh("2025-10-20T09:00"), late_pause)
    assert overdue.due_at == sh("2025-09-29T00:00") and overdue.level is Level.OVERDUE and overdue.paused


def test_overlapping_and_early_pauses() -> None:
    accepted = sh("2025-09-22T10:00")
    pauses = [Pause(sh("2025-09-22T11:00"), sh("2025-09-24T00:00")),  # starts before the clock does
              Pause(sh("2025-09-23T12:00"), sh("2025-09-25T00:00"))]  # overlaps the first
    # the clock runs from Sep 25 00:00: Sep 25, 26, 28, 29, 30 → due Oct 1 00:00 (24:00 of Sep 30)
    assert due_at(CALENDAR, accepted_at=accepted, working_days=5, pauses=pauses) == sh("2025-10-01T00:00")
    assert elapsed_working_time(CALENDAR, accepted_at=accepted, now=sh("2025-09-26T06:00"),
                                pauses=pauses) == timedelta(hours=30)


def test_a_year_without_announced_holidays_makes_the_clock_provisional() -> None:
    calendar = WorkCalendar(package_overrides())
    last = max(year for year in range(2004, 2101) if calendar.covers(year))
    accepted = datetime(last, 12, 10, 2, tzinfo=UTC)
    within = status(accepted, 3, accepted + DAY, calendar=calendar)
    assert not within.provisional
    crossing = status(accepted, 30, accepted + DAY, calendar=calendar)  # due in the next year
    assert crossing.provisional and crossing.due_at is not None and crossing.due_at.year == last + 1
    assert status(datetime(last + 3, 3, 2, 2, tzinfo=UTC), 5, datetime(last + 3, 3, 3, tzinfo=UTC),
                  calendar=calendar).provisional


@pytest.mark.parametrize("days", [0, -3, 2.5, True])
def test_bad_limits_are_refused(days: object) -> None:
    with pytest.raises(ValueError, match="working days"):
        due_at(CALENDAR, accepted_at=ACCEPTED, working_days=days)  # type: ignore[arg-type]


def test_naive_times_and_backward_pauses_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        due_at(CALENDAR, accepted_at=datetime(2025, 9, 26, 15), working_days=5)
    with pytest.raises(ValueError, match="now must be an aware"):
        status(ACCEPTED, 5, datetime(2025, 9, 30))
    with pytest.raises(ValueError, match="cannot end"):
        due_at(CALENDAR, accepted_at=ACCEPTED, working_days=5,
               pauses=[Pause(sh("2025-09-30T10:00"), sh("2025-09-29T10:00"))])


# -- properties ---------------------------------------------------------------------------------------------
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 9, 30), timezones=st.just(UTC))
limits = st.integers(min_value=1, max_value=60)
pause_lists = st.lists(st.tuples(st.integers(min_value=-3 * 24 * 60, max_value=90 * 24 * 60),
                                 st.integers(min_value=0, max_value=20 * 24 * 60)), max_size=3)


def as_pauses(accepted: datetime, spec: list[tuple[int, int]]) -> list[Pause]:
    return [Pause(accepted + timedelta(minutes=offset), accepted + timedelta(minutes=offset + length))
            for offset, length in spec]


@PROPERTIES
@given(accepted=instants, days=limits)
def test_without_pauses_the_due_instant_ends_the_nth_working_day(accepted: datetime, days: int) -> None:
    due = due_at(CALENDAR, accepted_at=accepted, working_days=days)
    assert due is not None and due.tzinfo is UTC
    last_day = CALENDAR.add_working_days(accepted.astimezone(SH).date(), days)
    assert due == datetime.combine(last_day + DAY, datetime.min.time(), SH)
    assert status(accepted, days, due).due_date == last_day


@PROPERTIES
@given(accepted=instants, days=limits, spec=pause_lists)
def test_pauses_never_shorten_a_deadline_and_it_is_exact(accepted: datetime, days: int,
                                                         spec: list[tuple[int, int]]) -> None:
    pauses = as_pauses(accepted, spec)
    plain = due_at(CALENDAR, accepted_at=accepted, working_days=days)
    paused = due_at(CALENDAR, accepted_at=accepted, working_days=days, pauses=pauses)
    assert plain is not None and paused is not None and paused >= plain
    elapsed = elapsed_working_time(CALENDAR, accepted_at=accepted, now=paused, pauses=pauses)
    assert elapsed == days * DAY  # the limit is used up exactly at the due instant …
    before = elapsed_working_time(CALENDAR, accepted_at=accepted, now=paused - timedelta(microseconds=1),
                                  pauses=pauses)
    assert before < days * DAY  # … and not a moment before


@PROPERTIES
@given(accepted=instants, days=limits, spec=pause_lists,
       offsets=st.lists(st.integers(min_value=0, max_value=200 * 24 * 60), min_size=2, max_size=6))
def test_level_and_fraction_never_go_back(accepted: datetime, days: int, spec: list[tuple[int, int]],
                                          offsets: list[int]) -> None:
    pauses = as_pauses(accepted, spec)
    order = [Level.NORMAL, Level.WARNING, Level.OVERDUE]
    moments = [accepted + timedelta(minutes=offset) for offset in sorted(offsets)]
    seen = [status(accepted, days, now, pauses) for now in moments]
    for earlier, later in zip(seen, seen[1:], strict=False):
        assert order.index(earlier.level) <= order.index(later.level)
        assert earlier.fraction_elapsed <= later.fraction_elapsed
        assert earlier.remaining_working_days >= later.remaining_working_days
        assert earlier.due_at == later.due_at is not None
    for now, one in zip(moments, seen, strict=True):
        assert (one.level is Level.OVERDUE) == (now >= one.due_at)
        assert (one.level is not Level.NORMAL) == (one.warning_at is not None and now >= one.warning_at)


@PROPERTIES
@given(accepted=instants, days=limits, spec=pause_lists,
       offsets=st.lists(st.integers(min_value=0, max_value=200 * 24 * 60), min_size=1, max_size=6))
def test_a_task_shows_its_case_clock(accepted: datetime, days: int, spec: list[tuple[int, int]],
                                     offsets: list[int]) -> None:
    """The inbox reads no case: a task's level and remaining working days come from the copy of the case clock it
    was created with, through the case page's own `case_clock.view`, and freeze when the task closes."""
    clock = case_clock.start(CALENDAR, {"promised_days": days, "statutory_days": days}, accepted)
    opened = accepted
    for pause in sorted(as_pauses(accepted, spec)):  # supplement rounds: the task is opened after each resume
        clock = case_clock.resume(CALENDAR, case_clock.pause(CALENDAR, clock, pause.start), pause.end)
        opened = max(opened, pause.end)
    case = {"_id": "c1", "region_code": "430182", "region_prefix": "430182", "matter": {"name": "事项"},
            "applicant": {"name": "王芳"}, "clock": clock}
    task = new_task(case, "prereview", "nx_estate", opened)
    for now in (opened + timedelta(minutes=offset) for offset in offsets):
        shown, case_shown = task_view(task, now, CALENDAR), case_clock.view(CALENDAR, clock, now)
        assert case_shown is not None
        assert (shown["level"], shown["remaining_working_days"]) == (case_shown["level"],
                                                                      case_shown["remaining_working_days"])
    closed_at = opened + timedelta(minutes=offsets[0])
    frozen = task_view({**task, "state": "done", "closed_at": closed_at}, closed_at + 400 * DAY, CALENDAR)
    paused = [Pause(p["start"], p["end"]) for p in clock["pauses"]]
    assert frozen["remaining_working_days"] == status(accepted, days, closed_at, paused).remaining_working_days
    assert task_view({**task, "clock": None}, opened, CALENDAR)["remaining_working_days"] is None  # older tasks


@PROPERTIES
@given(accepted=instants, days=limits, spec=pause_lists, open_pause=st.booleans(), stopped=st.booleans(),
       offsets=st.lists(st.integers(min_value=0, max_value=200 * 24 * 60), min_size=1, max_size=6))
def test_a_list_item_shows_what_the_case_page_shows(accepted: datetime, days: int, spec: list[tuple[int, int]],
                                                    open_pause: bool, stopped: bool, offsets: list[int]) -> None:
    """我的办件 shows due date and level through `case_clock.brief` (remembered deadlines, no time counted):
    always the case page's own numbers, paused, stopped or running."""
    clock = case_clock.start(CALENDAR, {"promised_days": days, "statutory_days": days}, accepted)
    for pause in sorted(as_pauses(accepted, spec)):
        clock = case_clock.resume(CALENDAR, case_clock.pause(CALENDAR, clock, pause.start), pause.end)
    last = max([accepted, *(p["end"] for p in clock["pauses"])])
    if open_pause:
        clock = case_clock.pause(CALENDAR, clock, last + timedelta(hours=1))
    if stopped:
        clock = case_clock.stop(clock, last + timedelta(days=3))
    for now in (last + timedelta(minutes=offset) for offset in offsets):
        shown, page = case_clock.brief(CALENDAR, clock, now), case_clock.view(CALENDAR, clock, now)
        assert page is not None and shown == {"due_date": page["due_date"], "level": page["level"]}
    assert case_clock.brief(CALENDAR, None, accepted) is None


@PROPERTIES
@given(accepted=instants, days=limits, spec=pause_lists,
       offsets=st.lists(st.integers(min_value=-2 * 24 * 60, max_value=200 * 24 * 60), min_size=1, max_size=6))
def test_the_days_left_of_an_inbox_row_are_the_status_s(accepted: datetime, days: int, spec: list[tuple[int, int]],
                                                        offsets: list[int]) -> None:
    """`remaining_working_days` remembers the time counted up to each midnight: the same number as the full
    status at any instant — before the clock starts, inside and after pauses, on holidays and working days."""
    pauses = as_pauses(accepted, spec)
    for now in (accepted + timedelta(minutes=offset) for offset in offsets):
        left = remaining_working_days(CALENDAR, accepted_at=accepted, working_days=days, now=now, pauses=pauses)
        assert left == status(accepted, days, now, pauses).remaining_working_days


TICK = timedelta(microseconds=1)


@PROPERTIES
@given(accepted=instants, days=limits, spec=pause_lists, open_pause=st.booleans(),
       offset=st.integers(min_value=-2 * 24 * 60, max_value=120 * 24 * 60), within=st.floats(0, 1))
def test_days_left_hold_exactly_until_the_instant_given(accepted: datetime, days: int, spec: list[tuple[int, int]],
                                                        open_pause: bool, offset: int, within: float) -> None:
    """An inbox page is shown again until the first of its rows' `remaining_working_days_until` instants: the
    number is the same at every instant before it, and another one at it (nothing shown stale, nothing early)."""
    pauses = as_pauses(accepted, spec)
    if open_pause:
        pauses.append(Pause(accepted + timedelta(days=3), None))
    now = accepted + timedelta(minutes=offset)

    def left(at: datetime) -> int:
        return remaining_working_days(CALENDAR, accepted_at=accepted, working_days=days, now=at, pauses=pauses)

    shown, until = remaining_working_days_until(CALENDAR, accepted_at=accepted, working_days=days, now=now,
                                                pauses=pauses)
    assert shown == left(now)
    if until is None:  # the clock stands for good: an open pause with time still to run
        assert open_pause and left(now + 400 * DAY) == shown
        return
    assert until > now
    assert left(min(now + (until - now) * within, until - TICK)) == shown == left(until - TICK)
    assert left(until) != shown


@PROPERTIES
@given(accepted=instants, days=limits, offset=st.integers(min_value=0, max_value=60 * 24 * 60),
       within=st.floats(0, 1))
def test_a_task_view_holds_until_its_first_change(accepted: datetime, days: int, offset: int, within: float) -> None:
    """Level or days left: the row is the same before the instant `task_view_until` gives, and differs at it."""
    clock = case_clock.start(CALENDAR, {"promised_days": days, "statutory_days": days}, accepted)
    case = {"_id": "c1", "region_code": "430182", "region_prefix": "430182", "matter": {"name": "事项"},
            "applicant": {"name": "王芳"}, "clock": clock}
    task, now = new_task(case, "review", "nx_estate", accepted), accepted + timedelta(minutes=offset)
    shown, until = task_view_until(task, now, CALENDAR)
    assert shown == task_view(task, now, CALENDAR) and until is not None and until > now
    assert task_view(task, min(now + (until - now) * within, until - TICK), CALENDAR) == shown == task_view(task, until - TICK, CALENDAR)
    assert task_view(task, until, CALENDAR) != shown
    closed = {**task, "state": "done", "closed_at": now}
    assert task_view_until(closed, now + DAY, CALENDAR) == (task_view(closed, now + DAY, CALENDAR), None)
