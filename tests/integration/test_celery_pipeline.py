"""A real Celery worker on the session's Redis runs a task published from the IOLoop without blocking it."""

from __future__ import annotations

import asyncio
import time

import pytest

from config.wiring import Dependencies
from core.ids import new_id
from notifications.tasks import HEARTBEAT_KEY
from tests.support.worker import CeleryWorker


@pytest.mark.slow
async def test_worker_runs_a_published_task(deps: Dependencies, celery_worker: CeleryWorker) -> None:
    token = new_id()
    await deps.tasks.send("notifications.tasks.heartbeat", token, queue="urgent")
    deadline = time.monotonic() + 30
    value = None
    while time.monotonic() < deadline:
        value = await deps.redis.get(HEARTBEAT_KEY)
        if value and value.decode().endswith(token):
            break
        await asyncio.sleep(0.2)
    assert value and value.decode().endswith(token), celery_worker.log_text()[-2000:]
