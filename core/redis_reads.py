"""Reads of Redis keys made in one turn of the event loop, sent together as one MGET.

Why: a staff member's inbox asks Redis three things (the login session still stands, the staff account, the
page), and fifty phones ask them at once. Each command through redis-py costs more Python than the reply itself
(a pooled connection, packing, a timeout, parsing), so on a busy process the round trips, not Redis, were the
largest cost of a cached read. Reads queued while the loop runs one turn of callbacks are flushed at the start
of the next turn as one MGET: the same answers (a GET is an MGET of one key), fewer commands.

A failed MGET fails every read in it with the same RedisError, which each caller already handles (a cache
read that fails is "not kept"). Only reads are batched; writes keep their own commands and their order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from weakref import WeakKeyDictionary

import redis.asyncio as aioredis

MAX_KEYS = 512  # one MGET at most; a turn that queues more sends several


class RedisReads:
    _shared: WeakKeyDictionary[aioredis.Redis, RedisReads] = WeakKeyDictionary()

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._queued: list[tuple[Sequence[str], asyncio.Future[list[bytes | None]]]] = []
        self._sending: set[asyncio.Task[None]] = set()  # flushes under way (held: tasks are weakly kept)

    @classmethod
    def of(cls, redis: aioredis.Redis) -> RedisReads:
        """The batcher of this client, shared by every cache on it (so their reads share round trips)."""
        reads = cls._shared.get(redis)
        if reads is None:
            reads = cls._shared[redis] = cls(redis)
        return reads

    async def get(self, *keys: str) -> list[bytes | None]:
        """The values of `keys` (None where missing), read with whatever else is read in this turn."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[bytes | None]] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._flush)
        self._queued.append((keys, answer))
        return await answer

    def _flush(self) -> None:
        queued, self._queued = self._queued, []
        batch: list[tuple[Sequence[str], asyncio.Future[list[bytes | None]]]] = []
        size = 0
        for read in queued:
            if batch and size + len(read[0]) > MAX_KEYS:
                self._send(batch)
                batch, size = [], 0
            batch.append(read)
            size += len(read[0])
        if batch:
            self._send(batch)

    def _send(self, batch: list[tuple[Sequence[str], asyncio.Future[list[bytes | None]]]]) -> None:
        sending = asyncio.get_running_loop().create_task(self._mget(batch))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)

    async def _mget(self, batch: list[tuple[Sequence[str], asyncio.Future[list[bytes | None]]]]) -> None:
        try:
            values = await self.redis.mget([key for keys, _ in batch for key in keys])
        except BaseException as exc:  # every read of the batch fails alike; each caller decides what that means
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        start = 0
        for keys, answer in batch:
            if not answer.done():  # its caller may have been cancelled meanwhile
                answer.set_result(values[start:start + len(keys)])
            start += len(keys)
