"""Helpers for identity tests: log in through the real HTTP API as a person on a phone would."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from accounts.citizen_id import make_citizen_id
from tests.support.population import PopulationSim
from tests.support.wechat import SimControl


@dataclass
class LoggedIn:
    body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.body['access_token']}"}

    @property
    def person_id(self) -> str:
        return self.body["person"]["id"]


async def miniprogram_login(api: httpx.AsyncClient, wechat: SimControl, *, unionid: str | None = None,
                            device: str = "iPhone 15") -> LoggedIn:
    """`wx.login()` on the phone (the simulator mints the code), then our login endpoint."""
    person = {"unionid": unionid} if unionid else {"openid": "o" + secrets.token_hex(10)}
    code = (await wechat.code("miniprogram", **person))["code"]
    response = await api.post("/api/v1/auth/miniprogram/login", json={"code": code},
                              headers={"X-Device-Name": device})
    assert response.status_code == 200, response.text
    return LoggedIn(response.json())


async def new_registered_person(population: PopulationSim, name: str = "测试人") -> str:
    """A person the population base knows, with a fresh valid ID number (tests never collide)."""
    born = date(1970, 1, 1) + timedelta(days=secrets.randbelow(15000))
    number = make_citizen_id("430124", born, 100 + secrets.randbelow(899))
    await population.add_person(name=name, id_number=number)
    return number
