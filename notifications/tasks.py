"""Celery tasks. One module per job family as they arrive; the heartbeat proves the pipeline end to end."""

from __future__ import annotations

import time

import redis

from config.settings import get_settings
from notifications.celery_app import app

HEARTBEAT_KEY = "zsb:worker:heartbeat"


@app.task(name="notifications.tasks.heartbeat", ignore_result=True)
def heartbeat(token: str = "") -> None:
    """Beat sends this every 30 s; the worker records when it last ran (and the token, for tests)."""
    client = redis.Redis.from_url(get_settings().redis_url)
    try:
        client.set(HEARTBEAT_KEY, f"{time.time():.3f} {token}".strip(), ex=300)
    finally:
        client.close()
