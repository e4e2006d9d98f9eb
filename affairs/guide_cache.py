"""An in-process cache of rendered guides: guide reads are the hottest path of the app.

Entries hold the ETag and the ready-to-send JSON bytes, so a hit costs a dictionary lookup (and a 304 costs
less). The cache is bounded (LRU) and per process.

Why a short TTL and not Redis pub/sub for the other processes: a publish in this process invalidates its own
entry at once; other API processes notice within `ttl_s` (10 s by default) when their entry expires. Pub/sub
would make that instant, but every process would need a subscriber connection, and a dropped connection loses
messages silently, leaving a process stale until restart unless a TTL backs it up anyway. A guide that changes
a few times a year can be 10 seconds late in another process; clients revalidate with `If-None-Match`, so a
short TTL costs one indexed read per guide per process per TTL, not a full render per request.

A generation counter per code closes the race "read v1 from the database, v2 is published and invalidated,
then v1 is stored": a fill started before an invalidation is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CachedGuide:
    etag: str
    body: bytes
    expires_at: float | None


class GuideCache:
    def __init__(self, *, ttl_s: float | None, max_entries: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, CachedGuide] = OrderedDict()
        self._generations: dict[Hashable, int] = {}
        self._epoch = 0  # bumped by invalidate_all

    def generation(self, key: Hashable) -> tuple[int, int]:
        """Read before loading from the database; pass to `put`."""
        return self._epoch, self._generations.get(key, 0)

    def get(self, key: Hashable) -> CachedGuide | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self.clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, etag: str, body: bytes, *, generation: tuple[int, int]) -> CachedGuide:
        entry = CachedGuide(etag, body, None if self.ttl_s is None else self.clock() + self.ttl_s)
        if generation != self.generation(key):
            return entry  # invalidated while we were loading: serve it once, do not keep it
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return entry

    def invalidate(self, key: Hashable) -> None:
        self._entries.pop(key, None)
        self._generations[key] = self._generations.get(key, 0) + 1

    def invalidate_all(self) -> None:
        """For caches whose entries depend on many matters (search pages): any change empties them."""
        self._entries.clear()
        self._epoch += 1

    def __len__(self) -> int:
        return len(self._entries)


class SingleFlight:
    """Concurrent misses of one key share one load: when a popular entry expires under load, one database
    query refills it instead of one per waiting request (no stampede, no latency spike)."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[object]] = {}

    async def run(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        future = self._running.get(key)
        if future is None:
            future = asyncio.ensure_future(load())
            self._running[key] = future
            future.add_done_callback(lambda _: self._running.pop(key, None))
        # shield: a waiter that gives up (client gone) must not cancel the load the others wait for
        return await asyncio.shield(future)  # type: ignore[return-value]
