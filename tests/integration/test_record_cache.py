"""The record cache's reader path (core/record_cache.py `fetch`) against the real Redis: concurrent misses share one
database read, a request never joins a read begun before a forget it saw, failures are shared and not kept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from config.wiring import Dependencies
from core.ids import new_id
from core.record_cache import RecordCache


class Database:
    """A stand-in for the database read: counts reads; each answers `value` as it is when the read starts, and
    ends when `gate` is open."""

    def __init__(self, value: dict[str, Any] | None) -> None:
        self.value, self.reads, self.gate = value, 0, asyncio.Event()
        self.gate.set()

    async def load(self) -> dict[str, Any] | None:
        self.reads += 1
        answer = self.value
        await self.gate.wait()
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_fifty_misses_share_one_read_and_the_record_is_kept(deps: Dependencies) -> None:
    cache, record_id, db = RecordCache(deps.redis, f"test-records-{new_id()}"), new_id(), Database({"v": 1})
    db.gate.clear()
    waiting = [asyncio.create_task(cache.fetch(record_id, db.load)) for _ in range(50)]
    await asyncio.sleep(0.05)
    db.gate.set()
    assert await asyncio.gather(*waiting) == [{"v": 1}] * 50
    assert db.reads == 1
    db.value = {"v": 2}  # the database changed without a forget: the kept record is served (until KEEP_S)
    assert await cache.fetch(record_id, db.load) == {"v": 1} and db.reads == 1


async def test_a_request_after_a_forget_does_not_join_a_read_begun_before_it(deps: Dependencies) -> None:
    cache, record_id, db = RecordCache(deps.redis, f"test-records-{new_id()}"), new_id(), Database({"role": "old"})
    db.gate.clear()
    before = asyncio.create_task(cache.fetch(record_id, db.load))  # a read under way...
    await asyncio.sleep(0.05)
    db.value = {"role": "new"}
    await cache.forget([record_id])  # ...a write and its forget...
    after = asyncio.create_task(cache.fetch(record_id, db.load))  # ...a request after them reads for itself
    await asyncio.sleep(0.05)
    db.gate.set()
    assert (await before, await after) == ({"role": "old"}, {"role": "new"})
    assert db.reads == 2
    assert await cache.get(record_id) is None  # the tombstone keeps both answers out until it expires


async def test_a_failed_read_is_shared_and_nothing_is_kept(deps: Dependencies) -> None:
    cache, record_id = RecordCache(deps.redis, f"test-records-{new_id()}"), new_id()
    failing = Database(RuntimeError("database down"))  # type: ignore[arg-type]
    failing.gate.clear()
    waiting = [asyncio.create_task(cache.fetch(record_id, failing.load)) for _ in range(5)]
    await asyncio.sleep(0.05)
    failing.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results) and failing.reads == 1
    missing = Database(None)  # no such record: nothing kept, asked again next time
    assert await cache.fetch(record_id, missing.load) is None
    assert await cache.fetch(record_id, missing.load) is None and missing.reads == 2


async def test_redis_down_every_fetch_reads_the_database(deps: Dependencies) -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))  # no retries: fast
    cache, db = RecordCache(dead, "test-records"), Database({"v": 1})
    try:
        assert await cache.fetch("r1", db.load) == {"v": 1}
        assert await cache.fetch("r1", db.load) == {"v": 1} and db.reads == 2
    finally:
        await dead.aclose()


@pytest.mark.parametrize("size", [1, 45, 1000])
async def test_a_kept_record_of_any_size_is_never_taken_for_a_tombstone(deps: Dependencies, size: int) -> None:
    cache, record_id = RecordCache(deps.redis, f"test-records-{new_id()}"), new_id()
    record = {"x": "-" * size}
    assert await cache.fetch(record_id, Database(record).load) == record
    assert await cache.get(record_id) == record
