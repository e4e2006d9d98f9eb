"""Fixtures of the payment flows: the real app on its own port with its notify URLs pointing at itself (so the
payment simulators' callbacks reach it), the WeChat Pay and Alipay simulators reset, a school with bills."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from config.settings import Settings
from config.wiring import Dependencies
from tests.support.payments import PaySim, fresh_pay_sim
from tests.support.school_fees import FeeSchool, api_with_notify_urls, school_with_bills


@pytest.fixture(scope="package")
async def paying(settings: Settings, deps: Dependencies, simulators: str) -> AsyncIterator[tuple[Dependencies, str]]:
    async with api_with_notify_urls(settings) as served:
        yield served


@pytest.fixture
async def api(paying: tuple[Dependencies, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=paying[1], timeout=10) as client:
        yield client


@pytest.fixture
def pdeps(paying: tuple[Dependencies, str]) -> Dependencies:
    return paying[0]


@pytest.fixture
async def wxpay(simulators: str) -> AsyncIterator[PaySim]:
    async with fresh_pay_sim(simulators, "wechatpay") as sim:
        yield sim


@pytest.fixture
async def alipay(simulators: str) -> AsyncIterator[PaySim]:
    async with fresh_pay_sim(simulators, "alipay") as sim:
        yield sim


@pytest.fixture
async def school(pdeps: Dependencies, demo_catalogue: object) -> FeeSchool:
    return await school_with_bills(pdeps, children=2, amount_fen=120_000)
