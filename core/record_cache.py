"""Small documents read by id on every request (a login session's standing, a staff account), kept in Redis for
KEEP_S between the writes that change them.

Writers `forget` a record after their write; forgetting leaves a tombstone for TOMBSTONE_S rather than deleting,
and a reader `put`s only where nothing is stored (SET NX). So a read of the database that began before a write
and ends after it cannot park the older record: the tombstone is in its way, and readers go to the database
until it expires. The one gap: a database read slower than TOMBSTONE_S, racing a write, may keep its older
answer for up to KEEP_S.

`fetch` is the reader's whole path. Misses of one record in a process share one database read: when a kept
account runs out under fifty requests at once, the database sees one read, not fifty (the burst of reads was
the slowest moment of a busy inbox). A request shares only a read begun after it saw the same thing stored —
nothing, or the same tombstone (each forget writes a new one) — so no write lies between that read's start and
the request: nobody is handed an answer older than what they could have read themselves.

Redis failing is never an error: `get` answers "not kept" (the caller reads the database) and `put` does
nothing; a failed `forget` is logged with how long the old record may still be served.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import bson
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from core.mongo import AWARE_UTC
from core.redis_reads import RedisReads

log = structlog.get_logger(__name__)

KEEP_S = 60
TOMBSTONE_S = 10
_TOMBSTONE = b"tomb:"  # + a token per forget. A BSON document never starts so (its length would be > 1 GB).
Record = dict[str, Any]


class RecordCache:
    def __init__(self, redis: aioredis.Redis, prefix: str, *, keep_s: int = KEEP_S,
                 tombstone_s: int = TOMBSTONE_S) -> None:
        self.redis, self.prefix, self.keep_s, self.tombstone_s = redis, prefix, keep_s, tombstone_s
        self.reads = RedisReads.of(redis)
        # database reads under way in this process, by record and by what was stored when each began
        self._loading: dict[tuple[str, bytes | None], asyncio.Future[Record | None]] = {}

    def _key(self, record_id: str) -> str:
        return f"{self.prefix}:{record_id}"

    async def fetch(self, record_id: str, load: Callable[[], Awaitable[Record | None]]) -> Record | None:
        """The record as kept, or else as `load()` reads it from the database (then kept; None: there is no such
        record, nothing is kept). Concurrent misses share one `load()` (see the module's docstring)."""
        stored = await self._stored(record_id)
        if stored is not None and not stored.startswith(_TOMBSTONE):
            return bson.decode(stored, codec_options=AWARE_UTC)
        flight = (record_id, stored)
        if flight in self._loading:
            return await asyncio.shield(self._loading[flight])
        self._loading[flight] = reading = asyncio.get_running_loop().create_future()
        try:
            record = await load()
            reading.set_result(record)
        except BaseException as exc:
            reading.set_exception(exc)
            reading.exception()  # retrieved: nobody may be waiting
            raise
        finally:
            del self._loading[flight]
        if record is not None:
            await self.put(record_id, record)
        return record

    async def get(self, record_id: str) -> Record | None:
        """The record as last kept, or None: read the database (and `put` what it says)."""
        stored = await self._stored(record_id)
        if stored is None or stored.startswith(_TOMBSTONE):
            return None
        return bson.decode(stored, codec_options=AWARE_UTC)

    async def _stored(self, record_id: str) -> bytes | None:
        """What Redis holds for the record (a BSON document or a tombstone); None when nothing, or Redis fails."""
        try:
            return (await self.reads.get(self._key(record_id)))[0]
        except RedisError as exc:
            log.warning("record_cache_unavailable", cache=self.prefix, error=type(exc).__name__)
            return None

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
                    pipe.set(key, _TOMBSTONE + secrets.token_hex(8).encode(), ex=self.tombstone_s)
                await pipe.execute()
        except RedisError as exc:
            log.error("record_cache_forget_failed", cache=self.prefix, records=len(keys), error=type(exc).__name__,
                      served_for_at_most_s=self.keep_s)
