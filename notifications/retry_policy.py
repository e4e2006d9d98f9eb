"""When to try a message again: exponential backoff with jitter, bounded in count, only after transient errors.

Delay before try n+1 (n = tries so far, from 1): half of `base · 2^(n-1)` (capped at `cap`) fixed, plus a random
part up to the other half ("equal jitter"). The fixed half makes the total wait predictable (ten tries with a
5 s base and a 10 min cap span more than 10 minutes, so a provider down for 10 minutes is outlasted); the
random half spreads a burst of failures so the retries do not hit the provider together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_s: float
    cap_s: float
    max_attempts: int

    def delay(self, attempts: int, rng: random.Random | None = None) -> float | None:
        """Seconds to wait after `attempts` tries have failed transiently; None when no try is left."""
        if attempts >= self.max_attempts:
            return None
        ceiling = min(self.cap_s, self.base_s * 2 ** max(attempts - 1, 0))
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)

    def minimum_total(self) -> float:
        """The shortest time from the first failure to the last try (every random half drawn as zero)."""
        return sum(min(self.cap_s, self.base_s * 2 ** (n - 1)) / 2 for n in range(1, self.max_attempts))
