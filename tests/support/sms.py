"""Drive the SMS simulators' control APIs (`/_sim/sms/` Aliyun, `/_sim/sms-tencent/`) from tests: inboxes, faults, reports.

Also helpers for the login-code service: random test phones, and lifting the 60 s resend cooldown (tests cannot
wait a minute; the key name is derived exactly as accounts.sms_codes derives it).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import redis.asyncio as aioredis

from accounts.sms_codes import reference
from config.settings import Settings


def random_phone() -> str:
    """A valid mainland mobile number (139 prefix) that no demo person has: tests never collide."""
    return f"+86139{secrets.randbelow(10**8):08d}"


async def lift_cooldown(redis: aioredis.Redis, settings: Settings, phone_e164: str) -> None:
    key = settings.sms_code_key.get_secret_value().encode()
    await redis.delete(f"zsb:sms:cooldown:{reference(key, 'phone', phone_e164)}")


class SmsSim:
    """One SMS simulator's control API: `/_sim/sms` (Aliyun, the default) or `/_sim/sms-tencent`."""

    def __init__(self, client: httpx.AsyncClient, prefix: str = "/_sim/sms") -> None:
        self.client = client
        self.prefix = prefix

    async def messages(self, phone: str | None = None) -> list[dict[str, Any]]:
        response = await self.client.get(f"{self.prefix}/messages", params={"phone": phone} if phone else {})
        response.raise_for_status()
        return response.json()["messages"]

    async def wait_for_message(self, phone: str, *, count: int = 1, within_s: float = 20) -> dict[str, Any]:
        """The newest message once the phone has received `count` of them (the worker delivers asynchronously)."""
        deadline = time.monotonic() + within_s
        while True:
            messages = await self.messages(phone)
            if len(messages) >= count:
                return messages[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no SMS #{count} for the phone within {within_s}s; stats {await self.stats()}")
            await asyncio.sleep(0.1)

    async def fault(self, **fault: Any) -> dict[str, Any]:
        response = await self.client.post(f"{self.prefix}/faults", json=fault)
        response.raise_for_status()
        return response.json()

    async def stats(self) -> dict[str, Any]:
        response = await self.client.get(f"{self.prefix}/stats")
        response.raise_for_status()
        return response.json()

    async def reset(self) -> None:
        (await self.client.post(f"{self.prefix}/reset")).raise_for_status()

    async def report_to(self, url: str, delay_ms: int = 0) -> None:
        """Post delivery reports to `url` from now on (until reset)."""
        body = {"report_url": url, "report_delay_ms": delay_ms}
        (await self.client.post(f"{self.prefix}/config", json=body)).raise_for_status()

    async def fail_next_report(self, phone: str, **failure: Any) -> None:
        response = await self.client.post(f"{self.prefix}/reports/failures", json={"phone": phone, **failure})
        response.raise_for_status()

    async def add_template(self, **template: str) -> None:
        (await self.client.post(f"{self.prefix}/templates", json=template)).raise_for_status()


@asynccontextmanager
async def fresh_sms_sim(base_url: str, prefix: str = "/_sim/sms") -> AsyncIterator[SmsSim]:
    """Reset before and after, so a pending fault never leaks into the next test."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        sim = SmsSim(client, prefix)
        await sim.reset()
        try:
            yield sim
        finally:
            await sim.reset()
