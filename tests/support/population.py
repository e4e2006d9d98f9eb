"""Drive the population-base simulator's control API (`/_sim/population/`) from tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx


class PopulationSim:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(f"/_sim/population/{path}", json=body)
        response.raise_for_status()
        return response.json()

    async def people(self) -> list[dict[str, Any]]:
        response = await self.client.get("/_sim/population/people")
        response.raise_for_status()
        return response.json()["people"]

    async def add_person(self, **person: Any) -> dict[str, Any]:
        return await self._post("people", person)

    async def fault(self, mode: str, **options: Any) -> dict[str, Any]:
        return await self._post("faults", {"mode": mode, **options})

    async def stats(self) -> dict[str, Any]:
        response = await self.client.get("/_sim/population/stats")
        response.raise_for_status()
        return response.json()

    async def reset(self) -> None:
        await self._post("reset", {})


@asynccontextmanager
async def fresh_population_sim(base_url: str) -> AsyncIterator[PopulationSim]:
    """Reset before and after, so a fault or an added person never leaks into the next test."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        sim = PopulationSim(client)
        await sim.reset()
        try:
            yield sim
        finally:
            await sim.reset()
