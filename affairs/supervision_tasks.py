"""The Celery beat task of electronic supervision: sweep open tasks past 80 % of their limit or past due.

Like the other tasks it opens its own clients on a fresh event loop. The sweep is idempotent (each task is
flagged once per level by a conditional update), so an overlapping or re-delivered run flags nothing twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import redis.asyncio as aioredis
import structlog

from affairs.case_history import History, StaleCase
from affairs.case_repository import CaseEventRepository, CaseRepository, CaseTaskRepository, Transactions
from affairs.supervision import Supervision
from config.settings import get_settings
from config.wiring import mongo_client
from core.clock import bson_time
from core.list_cache import ListCache
from core.outbox import OutboxRepository
from notifications.celery_app import app

SWEEP_TASK = "affairs.supervision_sweep"
log = structlog.get_logger(__name__)


@app.task(name=SWEEP_TASK, ignore_result=True, queue="default")
def supervision_sweep() -> dict[str, int]:
    return asyncio.run(_sweep())


async def _sweep() -> dict[str, int]:
    settings = get_settings()
    mongo = mongo_client(settings)
    redis = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=2)
    try:
        db = mongo[settings.mongodb_db]
        lists = ListCache(redis)  # flags shown in the inbox: the department's cached first page moves on
        cases = CaseRepository(db, lists)
        history = History(cases, CaseEventRepository(db), OutboxRepository(db))
        supervision = Supervision(cases=cases, tasks=CaseTaskRepository(db, lists), history=history,
                                  tx=Transactions(mongo, retry_on=StaleCase, lists=lists))
        report = (await supervision.sweep(bson_time(datetime.now(UTC)))).as_dict()
        log.info("supervision_sweep", **report)
        return report
    finally:
        await mongo.close()
        await redis.aclose()
