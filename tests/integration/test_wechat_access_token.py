"""The shared access token: Redis cache, single-flight refresh across processes, recovery from 40001."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from config.wiring import Dependencies
from tests.support.wechat import SimControl
from wechat import AccessTokenManager, AccessTokenUnavailable, InvalidAccessToken, InvalidCredentials
from wechat.access_token import COMPARE_AND_DELETE
from wechat.http import WeChatHttp

TOKEN = "/cgi-bin/token"
PROBE = "/cgi-bin/get_api_domain_ip"


class Worker:
    """What one API/Celery process would hold: its own Redis connection pool, HTTP client and manager."""

    def __init__(self, settings: Settings, **options: float) -> None:
        self.redis = aioredis.Redis.from_url(settings.redis_url)
        self.http = WeChatHttp(settings.wechat_api_base_url, timeout_s=options.pop("timeout_s", 5.0))
        self.tokens = AccessTokenManager(
            self.http, self.redis, appid=settings.wechat_mp_appid,
            secret=str(options.pop("secret", settings.wechat_mp_secret.get_secret_value())),
            retry_backoff_s=0.05, **options,  # type: ignore[arg-type]
        )

    async def close(self) -> None:
        await self.http.aclose()
        await self.redis.aclose()


@pytest.fixture
async def workers(settings: Settings, wechat_sim: SimControl) -> AsyncIterator[list[Worker]]:
    made = [Worker(settings), Worker(settings)]
    yield made
    for worker in made:
        await worker.close()


async def test_two_processes_asking_at_once_cause_one_fetch(wechat_sim: SimControl, workers: list[Worker]) -> None:
    await wechat_sim.fault(TOKEN, delay_ms=300)  # keep the first fetch in flight while everyone else asks
    tokens = await asyncio.gather(*(w.tokens.get_token() for w in workers for _ in range(10)))
    assert len(set(tokens)) == 1
    stats = await wechat_sim.stats()
    assert stats["access_tokens_issued"] == 1 and stats["calls"][TOKEN] == 1


async def test_token_is_cached_below_its_lifetime(wechat_sim: SimControl, workers: list[Worker]) -> None:
    first = await workers[0].tokens.get_token()
    assert await workers[1].tokens.get_token() == first
    ttl = await workers[0].redis.ttl(workers[0].tokens.token_key)
    assert 7200 - 300 - 5 <= ttl <= 7200 - 300  # expires_in minus the safety margin
    assert (await wechat_sim.stats())["access_tokens_issued"] == 1


async def test_short_lived_tokens_keep_half_their_lifetime(wechat_sim: SimControl, workers: list[Worker]) -> None:
    await wechat_sim.configure(access_token_expires_in=60)
    await workers[0].tokens.get_token()
    assert 25 <= await workers[0].redis.ttl(workers[0].tokens.token_key) <= 30


async def test_invalid_token_is_invalidated_refreshed_once_and_retried(wechat_sim: SimControl, workers: list[Worker]) -> None:
    manager = workers[0].tokens
    old = await manager.get_token()
    assert await wechat_sim.revoke_tokens() == 1  # e.g. someone reset the secret: WeChat now answers 40001
    assert await manager.probe() == ["127.0.0.1"]
    stats = await wechat_sim.stats()
    assert stats["access_tokens_issued"] == 2 and stats["calls"][PROBE] == 2
    assert await manager.get_token() != old


async def test_token_still_rejected_after_refresh_gives_up(wechat_sim: SimControl, workers: list[Worker]) -> None:
    await wechat_sim.fault(PROBE, errcode=40001, times=5)
    with pytest.raises(InvalidAccessToken) as caught:
        await workers[0].tokens.probe()
    assert caught.value.errcode == 40001
    stats = await wechat_sim.stats()
    assert stats["calls"][PROBE] == 2 and stats["access_tokens_issued"] == 2


async def test_invalidate_keeps_a_token_another_worker_already_refreshed(
    wechat_sim: SimControl, workers: list[Worker]
) -> None:
    a, b = workers[0].tokens, workers[1].tokens
    stale = await a.get_token()
    assert await b.invalidate(stale) is True
    fresh = await b.get_token()
    assert await a.invalidate(stale) is False  # a late 40001 on the old token must not drop the new one
    assert await a.get_token() == fresh
    assert (await wechat_sim.stats())["access_tokens_issued"] == 2


async def test_crashed_holder_lock_expires_and_a_waiter_takes_over(wechat_sim: SimControl, workers: list[Worker]) -> None:
    manager = workers[0].tokens
    await workers[0].redis.set(manager.lock_key, "a-worker-that-died", px=400)
    started = time.monotonic()
    token = await manager.get_token()
    assert token and time.monotonic() - started >= 0.3
    assert (await wechat_sim.stats())["access_tokens_issued"] == 1


async def test_waiting_is_bounded(wechat_sim: SimControl, settings: Settings) -> None:
    worker = Worker(settings, wait_timeout_s=0.3)
    try:
        await worker.redis.set(worker.tokens.lock_key, "a-stuck-worker", px=10_000)
        started = time.monotonic()
        with pytest.raises(AccessTokenUnavailable):
            await worker.tokens.get_token()
        assert time.monotonic() - started < 1.0
        assert await wechat_sim.calls(TOKEN) == 0
    finally:
        await worker.redis.delete(worker.tokens.lock_key)
        await worker.close()


async def test_holder_never_deletes_a_lock_it_no_longer_owns(wechat_sim: SimControl, settings: Settings) -> None:
    worker = Worker(settings, lock_ttl_s=0.2)
    try:
        await wechat_sim.fault(TOKEN, delay_ms=600)
        refresh = asyncio.create_task(worker.tokens.get_token())
        await asyncio.sleep(0.35)  # our lock has expired while WeChat is slow; another worker takes it
        assert await worker.redis.set(worker.tokens.lock_key, "another-worker", nx=True, px=10_000)
        assert await refresh
        assert await worker.redis.get(worker.tokens.lock_key) == b"another-worker"
    finally:
        await worker.redis.delete(worker.tokens.lock_key)
        await worker.close()


async def test_compare_and_delete_script(deps: Dependencies) -> None:
    script = deps.redis.register_script(COMPARE_AND_DELETE)
    await deps.redis.set("wechat:test:cad", "theirs")
    assert await script(keys=["wechat:test:cad"], args=["mine"]) == 0
    assert await deps.redis.get("wechat:test:cad") == b"theirs"
    assert await script(keys=["wechat:test:cad"], args=["theirs"]) == 1
    assert await deps.redis.exists("wechat:test:cad") == 0


async def test_failed_refresh_raises_and_releases_the_lock(wechat_sim: SimControl, settings: Settings) -> None:
    worker = Worker(settings, secret="wrong-secret")
    try:
        with pytest.raises(InvalidCredentials) as caught:
            await worker.tokens.get_token()
        assert caught.value.errcode == 40125
        assert await worker.redis.exists(worker.tokens.lock_key) == 0
        assert await worker.redis.exists(worker.tokens.token_key) == 0
    finally:
        await worker.close()


async def test_busy_token_endpoint_is_retried_once(wechat_sim: SimControl, workers: list[Worker]) -> None:
    await wechat_sim.fault(TOKEN, errcode=-1)
    assert await workers[0].tokens.get_token()
    assert await wechat_sim.calls(TOKEN) == 2
