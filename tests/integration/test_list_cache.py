"""The first-page cache of 我的办件 and the inbox (core/list_cache.py) against the real Redis: served while its
scope is unchanged, dropped by every touch, never parks a page read across a write, and out of the way when
Redis is down."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from config.wiring import Dependencies
from core.ids import new_id
from core.list_cache import ListCache


class Source:
    """A stand-in for the database read: counts the loads and answers the current rows."""

    def __init__(self) -> None:
        self.rows = [{"_id": "c1", "at": datetime(2026, 12, 2, 8, 0, tzinfo=UTC)}]
        self.loads = 0

    async def load(self) -> list[dict[str, object]]:
        self.loads += 1
        return [dict(row) for row in self.rows]


async def test_a_page_is_served_until_its_scope_is_touched(deps: Dependencies) -> None:
    lists, source, scope = ListCache(deps.redis), Source(), f"applicant-cases:{new_id()}"
    first = await lists.rows(scope, "first:21", source.load)
    again = await lists.rows(scope, "first:21", source.load)
    assert first == again == source.rows and source.loads == 1
    assert again[0]["at"].tzinfo is not None  # times come back as the MongoDB client gives them: aware UTC
    source.rows = [{"_id": "c2", "at": datetime(2026, 12, 3, tzinfo=UTC)}, *source.rows]
    await lists.touched([scope])
    assert [r["_id"] for r in await lists.rows(scope, "first:21", source.load)] == ["c2", "c1"]
    assert source.loads == 2
    other = await lists.rows(f"applicant-cases:{new_id()}", "first:21", source.load)  # scopes are apart
    assert source.loads == 3 and other == source.rows


async def test_a_read_racing_a_write_does_not_park_the_older_page(deps: Dependencies) -> None:
    lists, scope = ListCache(deps.redis), f"department-tasks:{new_id()}"
    reading, written = asyncio.Event(), asyncio.Event()
    loads = 0

    async def slow_old_read() -> list[dict[str, object]]:
        nonlocal loads
        loads += 1
        reading.set()
        await written.wait()  # the write commits and touches while this read is under way
        return [{"_id": "old"}]

    async def fresh_read() -> list[dict[str, object]]:
        nonlocal loads
        loads += 1
        return [{"_id": "new"}]

    racing = asyncio.create_task(lists.rows(scope, "open::21", slow_old_read))
    await reading.wait()
    await lists.touched([scope])
    written.set()
    assert await racing == [{"_id": "old"}]  # that caller gets what it read...
    assert await lists.rows(scope, "open::21", fresh_read) == [{"_id": "new"}]  # ...but nobody after it
    assert loads == 2


async def test_touches_inside_a_transaction_wait_for_its_end(deps: Dependencies) -> None:
    lists, source, scope = ListCache(deps.redis), Source(), f"applicant-cases:{new_id()}"
    await lists.rows(scope, "first:21", source.load)
    async with lists.after_commit():
        await lists.touched([scope])
        await lists.rows(scope, "first:21", source.load)  # not committed yet: the page still stands
        assert source.loads == 1
    await lists.rows(scope, "first:21", source.load)
    assert source.loads == 2


async def test_redis_down_reads_the_database_and_writes_still_succeed() -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))  # no retries: fast
    lists, source = ListCache(dead), Source()
    try:
        assert await lists.rows("applicant-cases:x", "first:21", source.load) == source.rows
        assert await lists.rows("applicant-cases:x", "first:21", source.load) == source.rows
        assert source.loads == 2
        await lists.touched(["applicant-cases:x"])  # logged; the page it would drop was never kept
    finally:
        await dead.aclose()


async def test_phones_missing_the_same_page_together_wait_for_one_read(deps: Dependencies) -> None:
    lists, scope = ListCache(deps.redis), f"department-tasks:{new_id()}"
    release, loads = asyncio.Event(), 0

    async def slow_read() -> list[dict[str, object]]:
        nonlocal loads
        loads += 1
        await release.wait()
        return [{"_id": "t1"}]

    readers = [asyncio.create_task(lists.rows(scope, "open::21", slow_read)) for _ in range(20)]
    await asyncio.sleep(0.05)
    release.set()
    pages = await asyncio.gather(*readers)
    assert loads == 1 and all(page == [{"_id": "t1"}] for page in pages)
    pages[0].append({"_id": "mine"})  # each caller has its own list
    assert pages[1] == [{"_id": "t1"}]


async def test_the_readers_of_one_read_share_the_version_the_kept_page_is_served_under(deps: Dependencies) -> None:
    """What a caller computes from a page is kept under its version (the inbox's rendered page): the readers
    who waited on one database read, and the readers served its stored copy afterwards, name the same rows."""
    lists, source, scope = ListCache(deps.redis), Source(), f"department-tasks:{new_id()}"

    async def database_read() -> list[dict[str, object]]:
        await asyncio.sleep(0.02)  # the others arrive while it is under way
        return await source.load()
    together = await asyncio.gather(*(lists.page(scope, "open::21", database_read) for _ in range(10)))
    assert source.loads == 1 and len({page.version for page in together}) == 1 and together[0].version
    stored = await lists.page(scope, "open::21", source.load)
    assert source.loads == 1 and stored.version == together[0].version and stored.rows == together[0].rows
    await lists.touched([scope])
    after = await lists.page(scope, "open::21", source.load)
    assert source.loads == 2 and after.version not in (None, stored.version)


async def test_an_old_current_page_is_served_while_it_is_read_again(deps: Dependencies) -> None:
    lists, source, scope = ListCache(deps.redis, refresh_after_s=0.0), Source(), f"applicant-cases:{new_id()}"
    await lists.rows(scope, "first:21", source.load)
    source.rows = [{"_id": "written-behind-our-back"}]  # e.g. a process died between its commit and its touch
    assert [r["_id"] for r in await lists.rows(scope, "first:21", source.load)] == ["c1"]  # served at once...
    for _ in range(100):
        if source.loads == 2 and not lists._refreshing:
            break
        await asyncio.sleep(0.01)
    assert source.loads == 2  # ...and read again in the background
    assert await lists.rows(scope, "first:21", source.load) == [{"_id": "written-behind-our-back"}]


async def test_a_failed_background_read_keeps_the_page(deps: Dependencies) -> None:
    lists, source, scope = ListCache(deps.redis, refresh_after_s=0.0), Source(), f"applicant-cases:{new_id()}"
    await lists.rows(scope, "first:21", source.load)

    async def database_down() -> list[dict[str, object]]:
        raise ConnectionError("database down")

    assert await lists.rows(scope, "first:21", database_down) == source.rows  # served; the re-read fails
    for _ in range(100):
        if not lists._refreshing:
            break
        await asyncio.sleep(0.01)
    assert not lists._refreshing  # ended (and logged), nothing left pending
    assert await lists.rows(scope, "first:21", database_down) == source.rows  # the page is still there
