"""First pages of the hottest lists (我的办件, the staff inbox) kept in Redis between the writes that change them.

Why: a first page is read far more often than it changes — a resident reopens 我的办件 to follow a case, a
department's staff refresh the same inbox all morning — and the local database answers an inbox by sorting
every open task of the department in memory. A page here costs one Redis round trip.

How it stays right. Every list belongs to a *scope* (one applicant's cases, one department's tasks) whose
generation, a random token in Redis, is replaced after every committed write touching the scope (`touched`). A
page is stored with the generation it was read under and served only while that generation is current; and it
is stored only if the generation did not move while the database was being read (a check-and-set in Redis), so a
read racing a write never parks the older page under the newer generation. Inside a transaction the touches are
collected and applied after the commit (`after_commit`), never before it: applied before, a reader could park
the pre-commit page under the new generation. Within a process one read of a page is under way at a time:
fifty phones missing the same page together wait for one database read, not fifty.

A page is read again in the background once it is REFRESH_AFTER_S old, while it goes on being served: so a
page never waits on the database merely for being old, only after a write to its scope. When something fails:
Redis down → the lists are read from the database (logged, never an error); a process dying between its commit
and its touch leaves a page served at most REFRESH_AFTER_S (and one read) longer. Only rows are kept: the views (a
case's remaining working days, a task's level) are computed from them at every read, so time never goes stale.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

import bson
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from core.mongo import AWARE_UTC
from core.redis_reads import RedisReads

log = structlog.get_logger(__name__)

REFRESH_AFTER_S = 30  # a current page older than this is read again (in the background)
KEEP_S = 600  # pages nobody asked for in this long leave Redis
DECODED_KEPT = 1024  # pages kept decoded in each process, by their stored bytes
GENERATION_TTL_S = 24 * 3600
# Store the page only while the scope's generation is still the one read before the database was asked.
_STORE_IF_CURRENT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
_collecting: ContextVar[set[str] | None] = ContextVar("zsb_list_scopes_touched", default=None)

Rows = list[dict[str, Any]]


class Page(NamedTuple):
    rows: Rows
    # Names these rows: one read of the database under one generation, at one instant — the page key, the
    # generation and the instant stored with it. The readers that waited on that read get it too, so what they
    # compute from the rows can be kept under it. None: not kept (Redis unavailable).
    version: str | None


def _version(page_key: str, generation: bytes, at: float) -> str:
    return f"{page_key}@{generation.decode()}@{at!r}"


class ListCache:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "zsb:lists", refresh_after_s: float = REFRESH_AFTER_S,
                 keep_s: int = KEEP_S) -> None:
        self.redis, self.prefix, self.refresh_after_s, self.keep_s = redis, prefix, refresh_after_s, keep_s
        self._store = redis.register_script(_STORE_IF_CURRENT)
        self.reads = RedisReads.of(redis)
        self._loading: dict[tuple[str, bytes], asyncio.Future[Page]] = {}  # page reads under way in this process
        self._refreshing: set[asyncio.Task[Page]] = set()  # background re-reads (held: tasks are weakly kept)
        self._recent: OrderedDict[str, tuple[bytes, dict[str, Any]]] = OrderedDict()  # page key → bytes, decoded

    def _decoded(self, page_key: str, page: bytes) -> dict[str, Any]:
        """The stored page decoded — once per version of it in this process (the views never change rows)."""
        seen = self._recent.get(page_key)
        if seen is not None and seen[0] == page:
            self._recent.move_to_end(page_key)
            return seen[1]
        kept = bson.decode(page, codec_options=AWARE_UTC)
        self._recent[page_key] = (page, kept)
        if len(self._recent) > DECODED_KEPT:
            self._recent.popitem(last=False)
        return kept

    def _generation_key(self, scope: str) -> str:
        return f"{self.prefix}:gen:{scope}"

    async def rows(self, scope: str, variant: str, load: Callable[[], Awaitable[Rows]]) -> Rows:
        """The rows of one page of `scope` (`variant` tells pages of the same scope apart: filter, limit, …),
        from Redis while its generation is current, otherwise `load()`ed from the database and kept. A current
        page older than REFRESH_AFTER_S is still served, and read again in the background (one read)."""
        return (await self.page(scope, variant, load)).rows

    async def page(self, scope: str, variant: str, load: Callable[[], Awaitable[Rows]]) -> Page:
        """`rows`, with their version: a caller may keep what it computes from the rows (a rendered page) under
        it, since a version never names other rows — whether they came from Redis or from the read that filled it."""
        generation_key, page_key = self._generation_key(scope), f"{self.prefix}:page:{scope}:{variant}"
        try:
            generation, page = await self.reads.get(generation_key, page_key)
            if generation is None:
                fresh = secrets.token_hex(8).encode()
                created = await self.redis.set(generation_key, fresh, nx=True, ex=GENERATION_TTL_S)
                generation = fresh if created else await self.redis.get(generation_key)
            elif page is not None:
                kept = self._decoded(page_key, page)
                if kept["g"] == generation:
                    if time.time() - kept["at"] > self.refresh_after_s and (page_key, generation) not in self._loading:
                        refresh = asyncio.create_task(self._read(scope, page_key, generation, load))
                        self._refreshing.add(refresh)
                        refresh.add_done_callback(self._refreshed)
                    return Page(list(kept["rows"]), _version(page_key, generation, kept["at"]))
        except RedisError as exc:
            log.warning("list_cache_unavailable", scope=scope.split(":", 1)[0], error=type(exc).__name__)
            return Page(await load(), None)
        if generation is None:  # the generation expired between two calls: nothing to keep the page under
            return Page(await load(), None)
        read = await self._read(scope, page_key, generation, load)
        return Page(list(read.rows), read.version)

    def _refreshed(self, refresh: asyncio.Task[Page]) -> None:
        """A background re-read ended: a failure (the database down) is logged; the page stays as it was."""
        self._refreshing.discard(refresh)
        if not refresh.cancelled() and (error := refresh.exception()) is not None:
            log.warning("list_cache_refresh_failed", error=type(error).__name__)

    async def _read(self, scope: str, page_key: str, generation: bytes, load: Callable[[], Awaitable[Rows]]) -> Page:
        """Read the page from the database once per process at a time (others wait for that read, and share its
        version), and keep it under `generation` unless that moved meanwhile."""
        flight = (page_key, generation)
        if flight in self._loading:
            return await asyncio.shield(self._loading[flight])
        self._loading[flight] = reading = asyncio.get_running_loop().create_future()
        try:
            rows = await load()
            at = time.time()
            read = Page(rows, _version(page_key, generation, at))
            reading.set_result(read)
        except BaseException as exc:
            reading.set_exception(exc)
            reading.exception()  # retrieved: nobody may be waiting
            raise
        finally:
            del self._loading[flight]
        try:
            await self._store(keys=[self._generation_key(scope), page_key], args=[
                generation, bson.encode({"g": generation, "at": at, "rows": rows}), self.keep_s])
        except RedisError as exc:
            log.warning("list_cache_unavailable", scope=scope.split(":", 1)[0], error=type(exc).__name__)
        return read

    async def touched(self, scopes: Iterable[str]) -> None:
        """Scopes a write just changed: inside `after_commit` they wait for the commit, otherwise (the write is
        already durable) their pages stop being served now."""
        wanted = set(scopes)
        if not wanted:
            return
        collecting = _collecting.get()
        if collecting is not None:
            collecting |= wanted
            return
        await self._bump(wanted)

    @asynccontextmanager
    async def after_commit(self) -> AsyncIterator[None]:
        """Around a transaction: the scopes its writes touch are bumped when it has ended — also when it
        failed, since a commit whose answer was lost may still have happened (an extra bump costs one read)."""
        collected: set[str] = set()
        token = _collecting.set(collected)
        try:
            yield
        finally:
            _collecting.reset(token)
            await self._bump(collected)

    async def _bump(self, scopes: set[str]) -> None:
        if not scopes:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for scope in sorted(scopes):
                    pipe.set(self._generation_key(scope), secrets.token_hex(8), ex=GENERATION_TTL_S)
                await pipe.execute()
        except RedisError as exc:  # pages are read again within refresh_after_s
            log.warning("list_cache_touch_failed", scopes=len(scopes), error=type(exc).__name__,
                        stale_for_at_most_s=self.refresh_after_s)
