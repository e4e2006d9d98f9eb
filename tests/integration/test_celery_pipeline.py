"""A real Celery worker on the session's Redis runs a task published from the IOLoop without blocking it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from config.wiring import Dependencies
from core.ids import new_id
from notifications.tasks import HEARTBEAT_KEY


@pytest.mark.slow
async def test_worker_runs_a_published_task(deps: Dependencies, subprocess_env: dict[str, str], tmp_path) -> None:
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "notifications.celery_app", "worker", "--pool", "solo",
         "-Q", "urgent,default,bulk", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        env=subprocess_env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        token = new_id()
        await deps.tasks.send("notifications.tasks.heartbeat", token, queue="urgent")
        deadline = time.monotonic() + 30
        value = None
        while time.monotonic() < deadline:
            value = await deps.redis.get(HEARTBEAT_KEY)
            if value and value.decode().endswith(token):
                break
            await asyncio.sleep(0.2)
        assert value and value.decode().endswith(token), (tmp_path / "worker.log").read_text()[-2000:]
    finally:
        worker.terminate()
        worker.wait(15)
