"""The time-limit clock of a case, as stored on the case and shown to applicants and staff.

When it starts: at submission (网上申请即收件). The promised limit (承诺时限) of the cited matter version runs from
then in working days (affairs.time_limits: the day itself does not count); the statutory limit is shown beside it.
While the case waits for the applicant's supplement the clock stands still (a pause), so the due date moves by
exactly the working time the applicant took. `due_at` and `warning_at` are stored (and kept current on every
pause and resume) so the inbox and the supervision job can query them on an index; the level is computed at read
time from `now`, never stored, so it cannot go stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from affairs.time_limits import (
    clock_status,
    deadlines,
    due_date_of,
    level_at,
    remaining_working_days,
    remaining_working_days_until,
)
from affairs.workdays import WorkCalendar


def _pauses(clock: dict[str, Any]) -> list[tuple[datetime, datetime | None]]:
    return [(p["start"], p.get("end")) for p in clock.get("pauses", [])]


def _with_due(calendar: WorkCalendar, clock: dict[str, Any], now: datetime) -> dict[str, Any]:
    status = clock_status(calendar, accepted_at=clock["started_at"], working_days=clock["promised_days"],
                          now=now, pauses=_pauses(clock))
    return {**clock, "due_at": status.due_at, "warning_at": status.warning_at}


def start(calendar: WorkCalendar, guide: dict[str, Any], now: datetime) -> dict[str, Any]:
    clock = {"started_at": now, "promised_days": guide["promised_days"],
             "statutory_days": guide["statutory_days"], "pauses": []}
    return _with_due(calendar, clock, now)


def pause(calendar: WorkCalendar, clock: dict[str, Any], now: datetime) -> dict[str, Any]:
    if any(p.get("end") is None for p in clock["pauses"]):
        return clock
    return _with_due(calendar, {**clock, "pauses": [*clock["pauses"], {"start": now, "end": None}]}, now)


def resume(calendar: WorkCalendar, clock: dict[str, Any], now: datetime) -> dict[str, Any]:
    pauses = [{**p, "end": now} if p.get("end") is None else p for p in clock["pauses"]]
    return _with_due(calendar, {**clock, "pauses": pauses}, now)


def stop(clock: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The case is decided: the clock keeps its numbers for the record and stops counting."""
    return {**clock, "stopped_at": now}


def brief(calendar: WorkCalendar, clock: dict[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    """What a list item shows — due date and level — as `view` gives them, without counting the elapsed time."""
    if not clock:
        return None
    due, warning = deadlines(calendar, accepted_at=clock["started_at"], working_days=clock["promised_days"],
                             pauses=_pauses(clock))
    return {"due_date": due_date_of(due).isoformat() if due else None,
            "level": level_at(due, warning, clock.get("stopped_at") or now).value}


def days_left(calendar: WorkCalendar, clock: dict[str, Any] | None, now: datetime) -> int | None:
    """`view(...)["remaining_working_days"]` alone (an inbox row), without the rest of the view."""
    if not clock:
        return None
    return remaining_working_days(calendar, accepted_at=clock["started_at"], working_days=clock["promised_days"],
                                  now=clock.get("stopped_at") or now, pauses=_pauses(clock))


def days_left_until(calendar: WorkCalendar, clock: dict[str, Any] | None, now: datetime
                    ) -> tuple[int | None, datetime | None]:
    """`days_left` and the instant before which it stays the same (None: it never changes — no clock, a stopped
    one, or one standing in an open pause)."""
    if not clock:
        return None, None
    if clock.get("stopped_at"):
        return days_left(calendar, clock, now), None
    return remaining_working_days_until(calendar, accepted_at=clock["started_at"],
                                        working_days=clock["promised_days"], now=now, pauses=_pauses(clock))


def view(calendar: WorkCalendar, clock: dict[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    """What a phone shows: due date, working days left (negative when late), level, paused or not."""
    if not clock:
        return None
    at = clock.get("stopped_at") or now
    status = clock_status(calendar, accepted_at=clock["started_at"], working_days=clock["promised_days"],
                          now=at, pauses=_pauses(clock))
    return {
        "started_at": clock["started_at"], "promised_days": clock["promised_days"],
        "statutory_days": clock["statutory_days"], "due_at": status.due_at,
        "due_date": status.due_date.isoformat() if status.due_date else None,
        "remaining_working_days": status.remaining_working_days, "level": status.level.value,
        "paused": status.paused, "stopped": "stopped_at" in clock, "provisional": status.provisional,
        "fraction_elapsed": round(status.fraction_elapsed, 4),
    }
