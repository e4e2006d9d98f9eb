"""Attempt limits of parent–child linking, with `limits` on Redis (moving window: a rolling 24 h, as SMS codes).

Every attempt counts, before anything is compared, so the link endpoint cannot be used to test name/ID/phone
combinations: PER_PERSON attempts per person, and PER_CHILD per child (keyed by the blind index of the ID number
typed, truncated), so many accounts together cannot try one child's link codes either. Redis keys hold person ids
and digests only, never a number.
"""

from __future__ import annotations

import math
import time

import redis.asyncio as aioredis
from limits import RateLimitItem, RateLimitItemPerDay
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from core.errors import AppError
from payments import fee_errors as FE

PER_PERSON = 10
PER_CHILD = 20


class LinkAttempts:
    def __init__(self, redis: aioredis.Redis, *, redis_url: str, per_person: int = PER_PERSON,
                 per_child: int = PER_CHILD) -> None:
        storage = RedisStorage("async+" + redis_url, implementation="redispy",
                               connection_pool=redis.connection_pool, key_prefix="zsb:limits")
        self.limiter = MovingWindowRateLimiter(storage)
        self.per_person: RateLimitItem = RateLimitItemPerDay(per_person)
        self.per_child: RateLimitItem = RateLimitItemPerDay(per_child)

    async def count_person(self, person_id: str) -> None:
        await self._hit(self.per_person, "guardian-link-person", person_id)

    async def count_child(self, id_index: str) -> None:
        await self._hit(self.per_child, "guardian-link-child", id_index[:32])

    async def _hit(self, item: RateLimitItem, kind: str, ref: str) -> None:
        if await self.limiter.hit(item, kind, ref):
            return
        stats = await self.limiter.get_window_stats(item, kind, ref)
        wait = max(math.ceil(stats.reset_time - time.time()), 1)
        raise AppError(FE.GUARDIAN_LINK_ATTEMPTS_EXCEEDED, headers={"Retry-After": str(wait)},
                       extra={"retry_after_s": wait})
