"""The Celery task that runs a roster import job (queue `bulk`: an import never delays a login code).

The broker carries only the job id; the file is in object storage, the job in MongoDB. As for the catalogue
import (affairs/import_tasks.py), each run opens its own clients on a fresh event loop and closes them, and a
re-delivered task finds the job claimed or done and does nothing.
"""

from __future__ import annotations

import asyncio

from config.pii import pii_from_settings
from config.settings import get_settings
from config.wiring import mongo_client, object_store
from notifications.celery_app import app
from payments.roster_jobs import ROSTER_QUEUE, ROSTER_TASK
from payments.school_fees import roster_runner


@app.task(name=ROSTER_TASK, ignore_result=True, queue=ROSTER_QUEUE)
def run_roster_import(job_id: str) -> None:
    asyncio.run(_run(job_id))


async def _run(job_id: str) -> None:
    settings = get_settings()
    mongo, objects = mongo_client(settings), object_store(settings)
    cipher, index = pii_from_settings(settings)
    try:
        runner = roster_runner(mongo, mongo[settings.mongodb_db], objects=objects,
                               bucket=settings.s3_bucket_documents, cipher=cipher, index=index)
        await runner.run(job_id)
    finally:
        await mongo.close()
        objects.close()
