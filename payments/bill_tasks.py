"""Celery tasks of bill generation (queue `bulk`): run one fee item's generation, and the beat sweep that runs
generations whose task was lost or whose worker died (payments/bill_generation.py is idempotent, so running one
twice only finds nothing left to do)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from config.settings import get_settings
from config.wiring import mongo_client
from notifications.celery_app import app
from payments.bill_generation import BILLS_QUEUE, BILLS_TASK
from payments.fee_item_repository import FeeItemRepository
from payments.school_fees import bill_generator

SWEEP_TASK = "payments.bill_tasks.sweep_bill_generation"
SWEEP_AFTER = timedelta(minutes=2)


@app.task(name=BILLS_TASK, ignore_result=True, queue=BILLS_QUEUE)
def generate_bills(item_id: str) -> None:
    asyncio.run(_generate([item_id], sweep=False))


@app.task(name=SWEEP_TASK, ignore_result=True, queue=BILLS_QUEUE)
def sweep_bill_generation() -> None:
    asyncio.run(_generate([], sweep=True))


async def _generate(item_ids: list[str], *, sweep: bool) -> None:
    settings = get_settings()
    mongo = mongo_client(settings)
    try:
        db = mongo[settings.mongodb_db]
        if sweep:
            item_ids = await FeeItemRepository(db).stale_requests(SWEEP_AFTER)
        generator = bill_generator(mongo, db)
        for item_id in item_ids:
            await generator.run(item_id)
    finally:
        await mongo.close()
