"""SMS failover across providers: try them in order; a temporary failure moves on to the next provider.

A permanent failure stops at once (an illegal number is illegal everywhere), except a template the provider
does not have (`UNKNOWN_TEMPLATE`: our configuration of that one provider), which the next provider may have.
A provider that failed temporarily is skipped for `cooldown_s` (a small per-process circuit breaker), so while
one provider is down every message goes straight to the other instead of waiting for a timeout each time;
when every provider is cooling down they are all tried anyway, so a recovery is noticed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from notifications.channels.sms import SmsMessage, SmsPermanentError, SmsResult, SmsSender, SmsTemporaryError

SKIPPABLE_PERMANENT = frozenset({"UNKNOWN_TEMPLATE", "MISSING_PARAMETERS"})


class FailoverSms:
    name = "failover"

    def __init__(self, senders: Sequence[SmsSender], *, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not senders:
            raise ValueError("at least one SMS provider is needed")
        self.senders = list(senders)
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._down_until: dict[str, float] = {}
        self._lock = threading.Lock()  # sends run in executor threads

    def _order(self) -> list[SmsSender]:
        now = self._clock()
        with self._lock:
            up = [s for s in self.senders if self._down_until.get(s.name, 0.0) <= now]
        return up + [s for s in self.senders if s not in up]

    def send(self, message: SmsMessage) -> SmsResult:
        last: SmsTemporaryError | SmsPermanentError | None = None
        for sender in self._order():
            try:
                result = sender.send(message)
            except SmsTemporaryError as exc:
                with self._lock:
                    self._down_until[sender.name] = self._clock() + self.cooldown_s
                last = exc
                continue
            except SmsPermanentError as exc:
                if exc.code in SKIPPABLE_PERMANENT:
                    last = exc
                    continue
                raise
            with self._lock:
                self._down_until.pop(sender.name, None)
            return result
        assert last is not None
        raise last
