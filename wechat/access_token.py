"""The access token of one appid, shared by every process through Redis, refreshed by one worker at a time.

WeChat keeps a single valid token per appid (fetching a new one retires the old one within minutes) and caps
fetches per day, so workers must not each fetch their own. The token lives in Redis with a TTL a safety margin
below `expires_in`; on a miss exactly one worker takes a lock (`SET NX PX`) and fetches, the others poll the
cache for a bounded time. Inside a process, concurrent callers share one refresh task as well.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
import structlog

from wechat.errors import AccessTokenUnavailable, InvalidAccessToken, TransportError
from wechat.http import WeChatHttp, retry_once_if_transient

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Delete KEYS[1] only while it still holds ARGV[1]: releases only our own lock, invalidates only the bad token.
COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def cache_ttl(expires_in: int, safety_margin_s: int = 300) -> int:
    """Seconds to keep a token: `expires_in` minus the margin (at most half the lifetime for short tokens)."""
    margin = min(safety_margin_s, expires_in // 2)
    return max(1, expires_in - margin)


class AccessTokenManager:
    """`get_token()` for one appid; `with_token(call)` also recovers once from 40001/42001."""

    def __init__(
        self,
        http: WeChatHttp,
        redis: aioredis.Redis,
        *,
        appid: str,
        secret: str,
        key_prefix: str = "wechat:",
        safety_margin_s: int = 300,
        lock_ttl_s: float = 15.0,
        wait_timeout_s: float | None = None,
        poll_interval_s: float = 0.05,
        retry_backoff_s: float = 0.2,
    ) -> None:
        self.http = http
        self.redis = redis
        self.appid = appid
        self._secret = secret
        self.token_key = f"{key_prefix}access_token:{appid}"
        self.lock_key = f"{key_prefix}access_token_lock:{appid}"
        self.safety_margin_s = safety_margin_s
        self.lock_ttl_ms = int(lock_ttl_s * 1000)
        # Outlive a crashed holder's lock, so a waiter can take over instead of failing.
        self.wait_timeout_s = wait_timeout_s if wait_timeout_s is not None else lock_ttl_s + 2.0
        self.poll_interval_s = poll_interval_s
        self.retry_backoff_s = retry_backoff_s
        self._compare_and_delete = redis.register_script(COMPARE_AND_DELETE)
        self._inflight: asyncio.Task[str] | None = None

    async def get_token(self) -> str:
        cached = await self._cached()
        if cached is not None:
            return cached
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._refresh())
            self._inflight.add_done_callback(_consume_exception)
        # shield: one caller giving up (cancelled) must not cancel the refresh the others wait on
        return await asyncio.shield(self._inflight)

    async def invalidate(self, token: str) -> bool:
        """Drop the cached token only if it is still `token` (another worker may have refreshed already)."""
        deleted = await self._compare_and_delete(keys=[self.token_key], args=[token])
        if deleted:
            log.info("wechat_access_token_invalidated", appid=self.appid)
        return bool(deleted)

    async def with_token(self, call: Callable[[str], Awaitable[T]]) -> T:
        """Run `call(token)`; if WeChat calls the token invalid or expired, invalidate, refresh once, retry once."""
        token = await self.get_token()
        try:
            return await call(token)
        except InvalidAccessToken as exc:
            log.warning("wechat_access_token_rejected", appid=self.appid, errcode=exc.errcode)
            await self.invalidate(token)
            return await call(await self.get_token())

    async def probe(self) -> list[str]:
        """Use the token once (`get_api_domain_ip`): proves appid, secret and reachability end to end."""

        async def call(token: str) -> list[str]:
            data = await self.http.get_json("/cgi-bin/get_api_domain_ip", {"access_token": token})
            return [str(ip) for ip in data.get("ip_list", [])]

        return await self.with_token(call)

    async def _cached(self) -> str | None:
        value = await self.redis.get(self.token_key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def _refresh(self) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout_s
        while True:
            owner = secrets.token_hex(16)
            if await self.redis.set(self.lock_key, owner, nx=True, px=self.lock_ttl_ms):
                try:
                    # The previous holder may have stored a token between our cache miss and our lock.
                    cached = await self._cached()
                    if cached is not None:
                        return cached
                    token, expires_in = await self._fetch()
                    await self.redis.set(self.token_key, token, ex=cache_ttl(expires_in, self.safety_margin_s))
                    log.info("wechat_access_token_refreshed", appid=self.appid, expires_in=expires_in)
                    return token
                finally:
                    await self._compare_and_delete(keys=[self.lock_key], args=[owner])
            # Someone else is refreshing: read their token, or take over once their lock is gone.
            while True:
                if loop.time() >= deadline:
                    raise AccessTokenUnavailable(
                        f"no access token for {self.appid} within {self.wait_timeout_s:.1f}s (refresh lock held)"
                    )
                await asyncio.sleep(self.poll_interval_s)
                cached = await self._cached()
                if cached is not None:
                    return cached
                if not await self.redis.exists(self.lock_key):
                    break

    async def _fetch(self) -> tuple[str, int]:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self._secret}
        data = await retry_once_if_transient(
            lambda: self.http.get_json("/cgi-bin/token", params), what="cgi-bin/token", backoff_s=self.retry_backoff_s
        )
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransportError("cgi-bin/token answer lacks access_token", status=200)
        return token, int(data.get("expires_in") or 7200)


def _consume_exception(task: asyncio.Task[str]) -> None:
    """Mark a failed refresh's exception as seen even if every waiter was cancelled (no asyncio warning)."""
    if not task.cancelled():
        task.exception()
