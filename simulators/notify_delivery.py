"""Callbacks from a simulated payment provider to the merchant's notify_url, retried on the provider's schedule.

Both providers deliver at once, then again after each delay of their schedule until the merchant answers the
way they count as received (WeChat Pay: any 2xx; Alipay: status 200 with the exact body `success`). The delays
are multiplied by ZSB_SIM_NOTIFY_TIME_SCALE (0.01: WeChat's 15 s become 0.15 s) so a test sees the real
sequence in seconds. Every attempt is signed afresh (`build` is called per attempt) and recorded, with the
merchant's answer, for the control API.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)

# Seconds between attempts, after the first (immediate) one.
WECHATPAY_SCHEDULE_S: tuple[float, ...] = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800,
                                           10800, 21600, 21600)
ALIPAY_SCHEDULE_S: tuple[float, ...] = (240, 600, 600, 3600, 7200, 21600, 54000)

Builder = Callable[[], tuple[bytes, dict[str, str]]]  # body and headers of one attempt
Acceptance = Callable[[int, bytes], bool]  # (status, body) -> received?


@dataclass
class Attempt:
    at: str
    status: int | None
    body: str
    received: bool
    error: str | None = None
    duplicate: bool = False  # sent by the control API's `resend`, not by the schedule

    def view(self) -> dict[str, Any]:
        return {"at": self.at, "status": self.status, "body": self.body, "received": self.received,
                "error": self.error, "duplicate": self.duplicate}


@dataclass
class Delivery:
    id: str
    kind: str
    url: str
    subject: dict[str, str]
    build: Builder
    attempts: list[Attempt] = field(default_factory=list)
    state: str = "pending"  # pending → delivered | gave_up
    next_attempt_in_s: float | None = 0.0

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "url": self.url, **self.subject, "state": self.state,
                "attempts": [a.view() for a in self.attempts], "next_attempt_in_s": self.next_attempt_in_s}


IN_FLIGHT = 32  # callbacks sent at once by one simulator


class Notifier:
    """Owns every delivery of one simulator, and the tasks sending them."""

    def __init__(self, *, schedule_s: tuple[float, ...], accepts: Acceptance, time_scale: float,
                 timeout_s: float = 5.0) -> None:
        self.schedule_s = schedule_s
        self.accepts = accepts
        self.time_scale = time_scale
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None
        # At most this many callbacks in flight; the rest wait here, not inside httpx's pool (which re-scans
        # every waiting request on each event: thousands of them took the simulator's whole core).
        self._in_flight: asyncio.Semaphore | None = None
        self.deliveries: dict[str, Delivery] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, kind: str, url: str, subject: dict[str, str], build: Builder) -> Delivery:
        delivery = Delivery(f"N{int(time.time() * 1000)}{secrets.token_hex(4)}", kind, url, subject, build)
        self.deliveries[delivery.id] = delivery
        self._spawn(self._run(delivery))
        return delivery

    async def resend(self, delivery_id: str, times: int) -> list[Attempt]:
        """`times` extra copies now, concurrently (a duplicate storm); the schedule is not affected."""
        delivery = self.deliveries[delivery_id]
        return list(await asyncio.gather(*(self._attempt(delivery, duplicate=True) for _ in range(times))))

    def find(self, **subject: str) -> list[Delivery]:
        return [d for d in self.deliveries.values()
                if all(d.subject.get(k) == v for k, v in subject.items() if v is not None)]

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.deliveries.clear()

    def stats(self) -> dict[str, Any]:
        attempts = [a for d in self.deliveries.values() for a in d.attempts]
        return {"callbacks": len(self.deliveries),
                "callbacks_by_state": {s: sum(d.state == s for d in self.deliveries.values())
                                       for s in ("pending", "delivered", "gave_up")},
                "callback_attempts": len(attempts), "callback_attempts_received": sum(a.received for a in attempts)}

    # -- sending ----------------------------------------------------------------------------------------------
    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, delivery: Delivery) -> None:
        for index in range(len(self.schedule_s) + 1):
            if index:
                delay = self.schedule_s[index - 1] * self.time_scale
                delivery.next_attempt_in_s = round(delay, 3)
                await asyncio.sleep(delay)
            delivery.next_attempt_in_s = None
            if (await self._attempt(delivery)).received:
                delivery.state = "delivered"
                return
        delivery.state = "gave_up"
        log.info("sim_callback_gave_up", kind=delivery.kind, url=delivery.url, attempts=len(delivery.attempts))

    async def _attempt(self, delivery: Delivery, *, duplicate: bool = False) -> Attempt:
        body, headers = delivery.build()
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        try:
            async with self._in_flight:
                response = await self._http().post(delivery.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            attempt = Attempt(stamp, None, "", False, type(exc).__name__, duplicate)
        else:
            received = self.accepts(response.status_code, response.content)
            attempt = Attempt(stamp, response.status_code, response.content[:300].decode("utf-8", "replace"),
                              received, None, duplicate)
        delivery.attempts.append(attempt)
        return attempt

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False,
                                             headers={"User-Agent": "Mozilla/4.0 (sim notify)"})
        return self._client
