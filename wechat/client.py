"""Everything a process needs to talk to WeChat, built once from settings and sharing one HTTP client."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from config.settings import Settings
from wechat.access_token import AccessTokenManager
from wechat.http import WeChatHttp
from wechat.miniprogram import MiniProgram
from wechat.oauth import OfficialAccountOAuth
from wechat.official_account import OfficialAccount
from wechat.subscribe import SubscribeMessages


@dataclass
class WeChatClients:
    http: WeChatHttp
    miniprogram: MiniProgram
    mp_tokens: AccessTokenManager  # mini-program access token (subscribe messages)
    oa_tokens: AccessTokenManager  # official-account access token (template messages)
    oauth: OfficialAccountOAuth
    subscribe: SubscribeMessages  # mini-program subscribe messages (mp_tokens)
    official_account: OfficialAccount  # official-account template messages (oa_tokens)

    @classmethod
    def from_settings(
        cls, settings: Settings, redis: aioredis.Redis, *, timeout_s: float | None = None, retry_backoff_s: float = 0.2
    ) -> WeChatClients:
        timeout = timeout_s if timeout_s is not None else settings.wechat_timeout_s
        http = WeChatHttp(settings.wechat_api_base_url, timeout_s=timeout)
        # The lock must outlive one refresh: two attempts plus the backoff between them.
        lock_ttl_s = 2 * timeout + retry_backoff_s + 1.0
        mp_secret = settings.wechat_mp_secret.get_secret_value()
        oa_secret = settings.wechat_oa_secret.get_secret_value()
        mp_tokens = AccessTokenManager(
            http, redis, appid=settings.wechat_mp_appid, secret=mp_secret, lock_ttl_s=lock_ttl_s,
            retry_backoff_s=retry_backoff_s,
        )
        oa_tokens = AccessTokenManager(
            http, redis, appid=settings.wechat_oa_appid, secret=oa_secret, lock_ttl_s=lock_ttl_s,
            retry_backoff_s=retry_backoff_s,
        )
        return cls(
            http=http,
            miniprogram=MiniProgram(
                http, appid=settings.wechat_mp_appid, secret=mp_secret, retry_backoff_s=retry_backoff_s
            ),
            mp_tokens=mp_tokens,
            oa_tokens=oa_tokens,
            subscribe=SubscribeMessages(http, mp_tokens),
            official_account=OfficialAccount(http, oa_tokens),
            oauth=OfficialAccountOAuth(
                http, redis, appid=settings.wechat_oa_appid, secret=oa_secret,
                open_base_url=settings.wechat_open_base_url, retry_backoff_s=retry_backoff_s,
            ),
        )

    async def aclose(self) -> None:
        """Close the shared HTTP client (the Redis client belongs to the caller)."""
        await self.http.aclose()
