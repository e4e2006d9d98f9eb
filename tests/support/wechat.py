"""Helpers for WeChat tests: drive the simulator's control API and start each test from a clean slate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import redis.asyncio as aioredis


class SimControl:
    """The `/_sim/wechat/` control API: act as the person's phone, inject faults, read counters."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post(f"/_sim/wechat/{path}", json=body or {})
        response.raise_for_status()
        return response.json()

    async def code(self, app: str = "miniprogram", **person: Any) -> dict[str, Any]:
        return await self._post("codes", {"app": app, **person})

    async def fault(self, path: str, **fault: Any) -> dict[str, Any]:
        return await self._post("faults", {"path": path, **fault})

    async def stats(self) -> dict[str, Any]:
        response = await self.client.get("/_sim/wechat/stats")
        response.raise_for_status()
        return response.json()

    async def calls(self, path: str) -> int:
        return int((await self.stats())["calls"].get(path, 0))

    async def advance(self, seconds: float) -> None:
        await self._post("clock", {"advance_s": seconds})

    async def configure(self, **config: Any) -> dict[str, Any]:
        return await self._post("config", config)

    async def revoke_tokens(self, appid: str | None = None) -> int:
        return int((await self._post("access_tokens/revoke", {"appid": appid}))["revoked"])

    async def set_person(self, **person: Any) -> dict[str, Any]:
        return await self._post("current_person", person)

    async def grant(self, template_id: str, **person_and_options: Any) -> dict[str, Any]:
        """The person taps "allow" (or `decision="reject"`) for a subscribe template in the mini-program."""
        return await self._post("subscribe-grants", {"template_id": template_id, **person_and_options})

    async def grants(self, **person: str) -> list[dict[str, Any]]:
        response = await self.client.get("/_sim/wechat/subscribe-grants", params=person)
        response.raise_for_status()
        return response.json()["grants"]

    async def follow(self, **person: Any) -> dict[str, Any]:
        return await self._post("followers", person)

    async def unfollow(self, **person: str) -> None:
        (await self.client.delete("/_sim/wechat/followers", params=person)).raise_for_status()

    async def messages(self, **person: str) -> list[dict[str, Any]]:
        """What the person received (subscribe and template messages), latest first."""
        response = await self.client.get("/_sim/wechat/messages", params=person)
        response.raise_for_status()
        return response.json()["messages"]

    async def authorize(self, url: str, **sim_params: str) -> dict[str, str]:
        """Open an authorize URL as the phone would; returns the callback's query (`code`, `state`)."""
        url = url.split("#", 1)[0]  # the fragment never reaches the server
        if sim_params:
            url += "&" + urlencode(sim_params)
        response = await self.client.get(url, follow_redirects=False)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()} | {"location": location}


async def clear_wechat_keys(redis: aioredis.Redis) -> None:
    keys = [key async for key in redis.scan_iter(match="wechat:*")]
    if keys:
        await redis.delete(*keys)


@asynccontextmanager
async def fresh_simulator(base_url: str, redis: aioredis.Redis) -> AsyncIterator[SimControl]:
    """Reset the WeChat simulator and drop cached tokens/states, so every test starts from nothing."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        control = SimControl(client)
        await control._post("reset")
        await clear_wechat_keys(redis)
        yield control
