"""Fixtures of the end-to-end tests: each simulator's control API, reset before the test (the phone's view)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from config.wiring import Dependencies
from tests.support.population import PopulationSim, fresh_population_sim
from tests.support.sms import SmsSim, fresh_sms_sim
from tests.support.wechat import SimControl, fresh_simulator
from tests.support.worker import CeleryWorker


@pytest.fixture
async def wechat(simulators: str, deps: Dependencies) -> AsyncIterator[SimControl]:
    """The WeChat simulator: mint login codes as the person's phone would."""
    async with fresh_simulator(simulators, deps.redis) as control:
        yield control


@pytest.fixture
async def sms(simulators: str, celery_worker: CeleryWorker) -> AsyncIterator[SmsSim]:
    """The SMS simulator's inbox, with the session's Celery worker delivering to it."""
    async with fresh_sms_sim(simulators) as sim:
        yield sim


@pytest.fixture
async def population(simulators: str) -> AsyncIterator[PopulationSim]:
    """The population base (人口库) simulator: demo people, added people, faults."""
    async with fresh_population_sim(simulators) as sim:
        yield sim
