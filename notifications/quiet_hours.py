"""Quiet hours: a non-urgent message created between 22:00 and 08:00 Asia/Shanghai waits until the morning.

Decided once, when the message is recorded: it gets a `due_at` of 08:00 (Shanghai) and is not queued; the beat
sweep releases due messages (notifications/sweeps.py). A countdown/ETA task was not used: with the Redis broker
a task whose ETA lies beyond the visibility timeout is delivered again and again, and a held task lives only in
a worker's memory. Urgent messages (login codes, overdue alerts to staff) ignore quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time  # e.g. 22:00
    end: time  # e.g. 08:00 (the window may wrap past midnight)

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """`"22:00-08:00"` → QuietHours; `""` → None (no quiet hours, e.g. in tests that run at night)."""
        if not text:
            return None
        start, end = (time.fromisoformat(part) for part in text.split("-"))
        if start == end:
            raise ValueError("quiet hours must not start and end at the same time")
        return cls(start, end)

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(SHANGHAI).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release_at(self, moment: datetime) -> datetime:
        """The end of the quiet window `moment` lies in (aware, in Shanghai time); `moment` itself otherwise."""
        if not self.contains(moment):
            return moment
        local = moment.astimezone(SHANGHAI)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)


def due_at(moment: datetime, *, urgent: bool, quiet: QuietHours | None) -> datetime:
    """When a message recorded at `moment` may be sent."""
    if urgent or quiet is None:
        return moment
    return quiet.release_at(moment)
