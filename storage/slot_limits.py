"""Per-person limits on upload slots: a quota of open documents (count and bytes) and a rate of new slots.

Open documents are pending slots and checked documents not yet attached to a case: what a person has put in
our storage without handing it in. Attached documents belong to a case and do not count. The quota is read
(one indexed aggregation over at most `quota_count` records) before each slot, so two slots asked at the same
instant can both pass with one place left: the rate limit bounds that slack, and an exact counter would need
a second write on every slot, confirmation, attachment and deletion. The rate is a moving window of one hour
with `limits` on the shared Redis pool, keyed by person id, like the SMS limits (accounts/sms_codes.py).
"""

from __future__ import annotations

import math
import time

import redis.asyncio as aioredis
from limits import RateLimitItem, RateLimitItemPerHour
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from core.errors import AppError
from storage import errors as SE
from storage.document_checks import MB
from storage.documents import DocumentRepository


class SlotLimits:
    def __init__(self, repo: DocumentRepository, redis: aioredis.Redis, *, redis_url: str, per_hour: int,
                 quota_count: int, quota_bytes: int) -> None:
        self.repo, self.quota_count, self.quota_bytes = repo, quota_count, quota_bytes
        self.rate: RateLimitItem = RateLimitItemPerHour(per_hour)
        storage = RedisStorage("async+" + redis_url, implementation="redispy",
                               connection_pool=redis.connection_pool, key_prefix="zsb:limits")
        self.limiter = MovingWindowRateLimiter(storage)

    async def admit(self, owner_person_id: str, size: int) -> None:
        """Return when the person may have one more slot of `size` bytes; 409 over quota, 429 too fast."""
        count, used = await self.repo.open_usage(owner_person_id)
        if count + 1 > self.quota_count or used + size > self.quota_bytes:
            raise AppError(SE.DOCUMENT_QUOTA_EXCEEDED,
                           f"待提交的文件过多（最多 {self.quota_count} 个、共 {self.quota_bytes // MB} MB，"
                           f"已有 {count} 个、{math.ceil(used / MB)} MB），请先提交申请或删除不用的文件",
                           extra={"quota_count": self.quota_count, "quota_bytes": self.quota_bytes,
                                  "used_count": count, "used_bytes": used})
        if await self.limiter.hit(self.rate, "doc-slots", owner_person_id):
            return
        stats = await self.limiter.get_window_stats(self.rate, "doc-slots", owner_person_id)
        wait = max(math.ceil(stats.reset_time - time.time()), 1)
        raise AppError(SE.DOCUMENT_SLOTS_RATE_LIMITED,
                       f"上传太频繁（每小时最多 {self.rate.amount} 个文件），请 {math.ceil(wait / 60)} 分钟后再试",
                       headers={"Retry-After": str(wait)}, extra={"retry_after_s": wait})
