"""Helpers for payment tests: the payment simulators' control APIs, and a merchant notify endpoint to receive
their callbacks (a real HTTP server on a free port that records every request and answers from a script)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler


class PaySim:
    """`/_sim/wechatpay/` or `/_sim/alipay/`: act as the payer, inject faults, read callbacks and counters."""

    def __init__(self, client: httpx.AsyncClient, name: str) -> None:
        self.client, self.name = client, name

    async def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post(f"/_sim/{self.name}/{path}", json=body or {})
        response.raise_for_status()
        return response.json()

    async def get(self, path: str, **params: str) -> dict[str, Any]:
        response = await self.client.get(f"/_sim/{self.name}/{path}", params=params)
        response.raise_for_status()
        return response.json()

    async def action(self, kind: str, number: str, action: str, **body: Any) -> httpx.Response:
        """`orders/<no>/pay` (WeChat Pay) or `trades/<no>/pay` (Alipay), without raising on 4xx."""
        return await self.client.post(f"/_sim/{self.name}/{kind}/{number}/{action}", json=body)

    async def fault(self, **fault: Any) -> dict[str, Any]:
        return await self.post("faults", fault)

    async def configure(self, **config: Any) -> dict[str, Any]:
        return await self.post("config", config)

    async def stats(self) -> dict[str, Any]:
        return await self.get("stats")


@asynccontextmanager
async def fresh_pay_sim(base_url: str, name: str, *, time_scale: float = 0.001) -> AsyncIterator[PaySim]:
    """Reset before and after; callbacks retried 1000× faster than the provider's schedule by default."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        sim = PaySim(client, name)
        await sim.post("reset")
        await sim.configure(time_scale=time_scale)
        try:
            yield sim
        finally:
            await sim.post("reset")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class _SinkHandler(RequestHandler):
    def initialize(self, sink: NotifySink) -> None:
        self.sink = sink

    def post(self, path: str) -> None:
        status, body = self.sink.answers.popleft() if self.sink.answers else self.sink.default
        self.sink.received.append(Received(path, dict(self.request.headers), self.request.body, status))
        self.set_status(status)
        if body:
            self.finish(body)
        else:
            self.finish()


class NotifySink:
    """Our notify endpoint as the providers see it: `url(path)` to give them, `answers` to script the replies."""

    def __init__(self, default: tuple[int, bytes]) -> None:
        self.default = default
        self.answers: deque[tuple[int, bytes]] = deque()
        self.received: list[Received] = []
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.server = HTTPServer(Application([(r"/(.*)", _SinkHandler, {"sink": self})]))
        self.server.add_sockets(sockets)

    def url(self, path: str = "notify") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def wait_for(self, count: int, *, within_s: float = 10) -> list[Received]:
        deadline = time.monotonic() + within_s
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} callbacks within {within_s}s, expected {count}")
            await asyncio.sleep(0.01)
        return self.received

    def stop(self) -> None:
        self.server.stop()
