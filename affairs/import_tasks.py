"""The Celery task that runs an xlsx import job (queue `bulk`: an import never delays a login code).

The broker carries only the job id; the file is in object storage and the job in MongoDB. Each run opens its
own clients on a fresh event loop and closes them (tasks are rare and long, so the few milliseconds do not
matter, and no loop or connection outlives the task). A re-delivered task (late acks: a worker crash) finds the
job claimed or done and does nothing, unless the first worker went silent past the lease.
"""

from __future__ import annotations

import asyncio

from affairs.audit import AuditRepository
from affairs.departments import DepartmentRepository
from affairs.import_checks import CatalogueLookups
from affairs.import_run import ImportRunner
from affairs.imports import IMPORT_QUEUE, IMPORT_TASK, ImportJobRepository
from affairs.matter_repository import MatterRepository, MatterVersionRepository
from affairs.regions import RegionRepository
from config.settings import get_settings
from config.wiring import mongo_client, object_store
from notifications.celery_app import app


@app.task(name=IMPORT_TASK, ignore_result=True, queue=IMPORT_QUEUE)
def run_matter_import(job_id: str) -> None:
    asyncio.run(_run(job_id))


async def _run(job_id: str) -> None:
    settings = get_settings()
    mongo, objects = mongo_client(settings), object_store(settings)
    try:
        db = mongo[settings.mongodb_db]
        lookups = CatalogueLookups(DepartmentRepository(db), RegionRepository(db), MatterRepository(db),
                                   MatterVersionRepository(db))
        runner = ImportRunner(mongo, ImportJobRepository(db), lookups, AuditRepository(db), objects,
                              settings.s3_bucket_documents)
        await runner.run(job_id)
    finally:
        await mongo.close()
        objects.close()
