"""`python -m devstack.demo_login` signs in as a demo person through the simulators and the API."""

from __future__ import annotations

import asyncio

import httpx

from devstack.demo_login import login


async def test_demo_login_binds_once_and_returns_working_tokens(
    api_server: tuple[object, str], simulators: str
) -> None:
    api_url = api_server[1]
    first = await asyncio.to_thread(login, "ouyang-xiaodong", api_url, simulators)
    assert first["person"]["level"] == "L2" and first["person"]["name"] == "欧阳晓东"
    again = await asyncio.to_thread(login, "ouyang-xiaodong", api_url, simulators)
    assert again["person"]["id"] == first["person"]["id"]  # same WeChat user, same account, no second binding
    async with httpx.AsyncClient(base_url=api_url) as client:
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {again['access_token']}"})
    assert me.json()["citizen_id"]["masked"].startswith("430111")
