"""Small documents read by id on every request (a login session's standing, a staff account), kept in Redis for
KEEP_S between the writes that change them.

Writers `forget` a record after their write; forgetting leaves a tombstone for TOMBSTONE_S rather than deleting,
and a reader `put`s only where nothing is stored (SET NX). So a read of the database that began before a write
and ends after it cannot park the older record: the tombstone is in its way, and readers go to the database
until it expires. The one gap: a database read slower than TOMBSTONE_S, racing a write, may keep its older
answer for up to KEEP_S.

Redis failing is never an error: `get` answers "not kept" (the caller reads the database) and `put` does
nothing; a failed `forget` is logged with how long the old record may still be served.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import bson
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from core.mongo import AWARE_UTC

log = structlog.get_logger(__name__)

KEEP_S = 60
TOMBSTONE_S = 10
_TOMBSTONE = b"-"


class RecordCache:
    def __init__(self, redis: aioredis.Redis, prefix: str, *, keep_s: int = KEEP_S,
                 tombstone_s: int = TOMBSTONE_S) -> None:
        self.redis, self.prefix, self.keep_s, self.tombstone_s = redis, prefix, keep_s, tombstone_s

    def _key(self, record_id: str) -> str:
        return f"{self.prefix}:{record_id}"

    async def get(self, record_id: str) -> dict[str, Any] | None:
        """The record as last kept, or None: read the database (and `put` what it says)."""
        try:
            raw = await self.redis.get(self._key(record_id))
        except RedisError as exc:
            log.warning("record_cache_unavailable", cache=self.prefix, error=type(exc).__name__)
            return None
        if raw is None or raw == _TOMBSTONE:
            return None
        return bson.decode(raw, codec_options=AWARE_UTC)

    async def put(self, record_id: str, record: dict[str, Any]) -> None:
        try:
            await self.redis.set(self._key(record_id), bson.encode(record), nx=True, ex=self.keep_s)
        except RedisError as exc:
            log.warning("record_cache_unavailable", cache=self.prefix, error=type(exc).__name__)

    async def forget(self, record_ids: Iterable[str]) -> None:
        """After a write: these records are read from the database again (for TOMBSTONE_S at least)."""
        keys = [self._key(record_id) for record_id in record_ids]
        if not keys:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(key, _TOMBSTONE, ex=self.tombstone_s)
                await pipe.execute()
        except RedisError as exc:
            log.error("record_cache_forget_failed", cache=self.prefix, records=len(keys), error=type(exc).__name__,
                      served_for_at_most_s=self.keep_s)
