"""Accepting a roster upload (API side): check who and what cheaply, store the file, create the job, queue it.

Nothing here parses the workbook (CPU work for the Celery worker, payments/roster_run.py): the IOLoop only hashes
the bytes in a thread and checks the zip signature. The file goes to object storage under
`tmp/roster-imports/<job id>.xlsx` (the broker carries only the job id) and is deleted when the job ends. Only the
school's own finance staff may import (accounts/scopes.py: SCHOOL, act).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from accounts.scopes import Action, Actor
from core.clock import bson_time
from core.errors import SERVICE_UNAVAILABLE, AppError
from core.ids import new_id
from core.jobs import JobState
from payments import fee_errors as FE
from payments.roster_jobs import ROSTER_QUEUE, ROSTER_TASK, RosterJobRepository
from payments.roster_sheet import XLSX_MEDIA_TYPE, build_template
from payments.schools import Schools
from storage.object_store import ObjectStore

log = structlog.get_logger(__name__)

Publish = Callable[..., Awaitable[str]]  # TaskPublisher.send
REQUEUE_AFTER = timedelta(minutes=1)


@dataclass
class RosterImports:
    jobs: RosterJobRepository
    schools: Schools
    objects: ObjectStore
    bucket: str
    publish: Publish

    async def template(self) -> bytes:
        return await asyncio.to_thread(build_template)

    async def submit(self, actor: Actor, school_id: str, data: bytes) -> tuple[dict[str, Any], bool]:
        """(job, created): a new queued job, or the job already queued or running for the same file."""
        school = await self.schools.get(actor, school_id, Action.ACT)
        if not data.startswith(b"PK\x03\x04"):  # every xlsx is a zip
            raise AppError(FE.ROSTER_FILE_INVALID)
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        key = f"{school['_id']}:{digest}"
        existing = await self.jobs.active(key)
        if existing is not None:
            await self._requeue_if_lost(existing)
            return existing, False
        job_id = new_id()
        object_key = f"tmp/roster-imports/{job_id}.xlsx"
        await self.objects.put_bytes(self.bucket, object_key, data, XLSX_MEDIA_TYPE)
        now = bson_time()
        doc: dict[str, Any] = {
            "_id": job_id, "school_id": school["_id"], "school_name": school["name"], "actor": actor.staff_id,
            "actor_department": actor.department_id, "sha256": digest, "size": len(data), "object_key": object_key,
            "active_key": key, "state": JobState.QUEUED.value, "progress": 0, "counts": {}, "issues": [],
            "issues_total": 0, "message": None, "attempts": 0, "created_at": now, "updated_at": now,
            "started_at": None, "finished_at": None, "heartbeat_at": None,
        }
        if await self.jobs.insert(doc) is None:  # the same file was uploaded concurrently: theirs wins
            await self.objects.delete(self.bucket, object_key)
            existing = await self.jobs.active(key)
            if existing is None:  # it finished in between: run this upload after all
                return await self.submit(actor, school_id, data)
            return existing, False
        try:
            await self.publish(ROSTER_TASK, job_id, queue=ROSTER_QUEUE)
        except Exception:
            log.exception("roster_import_not_queued", job_id=job_id)
            await self.jobs.fail(job_id, message="任务队列暂时不可用，未导入任何学生，请稍后重新上传")
            raise AppError(SERVICE_UNAVAILABLE) from None
        log.info("roster_import_queued", job_id=job_id, school_id=school["_id"], size=len(data))
        return doc, True

    async def get(self, actor: Actor, school_id: str, job_id: str) -> dict[str, Any]:
        job = await self.jobs.get(job_id)
        if job is None or job["school_id"] != school_id:
            raise AppError(FE.ROSTER_IMPORT_NOT_FOUND)
        await self.schools.get(actor, school_id, Action.ACT)
        return job

    async def _requeue_if_lost(self, job: dict[str, Any]) -> None:
        """A process that died between creating the job and queueing it left it queued: queue it again (the
        worker's claim makes a duplicate harmless)."""
        if job["state"] == JobState.QUEUED and job["created_at"] < bson_time() - REQUEUE_AFTER:
            log.warning("roster_import_requeued", job_id=job["_id"])
            await self.publish(ROSTER_TASK, job["_id"], queue=ROSTER_QUEUE)
