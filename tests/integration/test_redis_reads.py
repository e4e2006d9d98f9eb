"""Reads of one event-loop turn sent as one MGET (core/redis_reads.py), against the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from config.wiring import Dependencies
from core.ids import new_id
from core.redis_reads import MAX_KEYS, RedisReads


class CountingRedis(aioredis.Redis):
    """The real client, counting the MGETs it sends."""

    mgets = 0

    async def mget(self, keys: Any, *args: Any) -> Any:
        self.mgets += 1
        return await super().mget(keys, *args)


@pytest.fixture
async def counting(deps: Dependencies) -> AsyncIterator[CountingRedis]:
    client = CountingRedis.from_url(deps.settings.redis_url)
    yield client
    await client.aclose()


async def test_reads_of_one_turn_are_one_mget_with_each_answer_its_own(counting: CountingRedis) -> None:
    prefix = f"test-reads:{new_id()}"
    await counting.mset({f"{prefix}:{n}": str(n) for n in range(0, 100, 2)})  # even keys set, odd ones missing
    reads = RedisReads(counting)
    answers = await asyncio.gather(*(reads.get(f"{prefix}:{n}", f"{prefix}:{n + 1}") for n in range(0, 100, 2)))
    assert answers == [[str(n).encode(), None] for n in range(0, 100, 2)]
    assert counting.mgets == 1
    assert await reads.get(f"{prefix}:0") == [b"0"]  # a read of a later turn: its own MGET
    assert counting.mgets == 2


async def test_a_turn_with_more_than_max_keys_is_split(counting: CountingRedis) -> None:
    prefix = f"test-reads:{new_id()}"
    await counting.mset({f"{prefix}:{n}": str(n) for n in range(MAX_KEYS + 10)})
    reads = RedisReads(counting)
    answers = await asyncio.gather(*(reads.get(f"{prefix}:{n}") for n in range(MAX_KEYS + 10)))
    assert answers == [[str(n).encode()] for n in range(MAX_KEYS + 10)]
    assert counting.mgets == 2


async def test_redis_down_fails_every_read_of_the_turn() -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    reads = RedisReads(dead)
    try:
        results = await asyncio.gather(reads.get("a"), reads.get("b", "c"), return_exceptions=True)
        assert all(isinstance(result, RedisConnectionError) for result in results)
    finally:
        await dead.aclose()


async def test_one_batcher_per_client(deps: Dependencies) -> None:
    assert RedisReads.of(deps.redis) is RedisReads.of(deps.redis)
