"""Fixtures of the integration tests that drive an adapter against its simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from config.settings import Settings
from config.wiring import Dependencies
from tests.support.wechat import SimControl, fresh_simulator
from wechat import WeChatClients


@pytest.fixture
async def wechat_sim(simulators: str, deps: Dependencies) -> AsyncIterator[SimControl]:
    """The WeChat simulator's control API, reset, with the cached tokens and OAuth states dropped."""
    async with fresh_simulator(simulators, deps.redis) as control:
        yield control


@pytest.fixture
async def wechat(settings: Settings, deps: Dependencies) -> AsyncIterator[WeChatClients]:
    """Our WeChat adapter pointed at the simulator, with a short retry backoff."""
    clients = WeChatClients.from_settings(settings, deps.redis, retry_backoff_s=0.05)
    yield clients
    await clients.aclose()
