"""Accepting an xlsx import (API side): check who and what cheaply, store the file, create the job, queue it.

Nothing here parses the workbook: that is CPU work for the Celery worker (`affairs.import_run`), so the IOLoop
only hashes the bytes (in a thread) and checks the zip signature. The upload goes to object storage under
`tmp/matter-imports/<job id>.xlsx` (the broker carries only the job id) and is deleted when the job ends.

The same file for the same department returns the job already queued, running or done (`active_key`), and an
`Idempotency-Key` returns the first answer for that key (another file under the same key is 422), so a double
click or a retried upload never imports twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from accounts.scopes import Actor
from affairs import errors as AF
from affairs.departments import DepartmentRepository
from affairs.imports import IMPORT_QUEUE, IMPORT_TASK, ImportJobRepository, active_key
from affairs.matter_access import actor_id, authorize_matter_change
from affairs.matter_sheet_write import XLSX_MEDIA_TYPE
from core.clock import bson_time
from core.errors import CONFLICT, SERVICE_UNAVAILABLE, VALIDATION_FAILED, AppError, FieldError
from core.idempotency import IdempotencyRepository, StoredAnswer
from core.ids import new_id
from core.jobs import JobState
from storage.object_store import ObjectStore

log = structlog.get_logger(__name__)

Publish = Callable[..., Awaitable[str]]  # TaskPublisher.send
REQUEUE_AFTER = timedelta(minutes=1)  # a job still queued this long after upload lost its task: send it again


@dataclass
class MatterImports:
    jobs: ImportJobRepository
    departments: DepartmentRepository
    idempotency: IdempotencyRepository
    objects: ObjectStore
    bucket: str
    publish: Publish

    async def submit(self, actor: Actor, department_code: str | None, data: bytes, *,
                     idempotency_key: str | None = None) -> tuple[dict[str, Any], bool]:
        """(job, created): a new queued job, or the job this file (or this key) already has."""
        target = department_code or actor.department_id or ""
        authorize_matter_change(actor, target)
        department = await self.departments.get(target)
        if department is None:
            raise AppError(VALIDATION_FAILED, errors=[FieldError("department", "DEPARTMENT_UNKNOWN",
                                                                 f"没有编码为 {target} 的部门")])
        if not data.startswith(b"PK\x03\x04"):  # every xlsx is a zip; anything else is not worth a job
            raise AppError(AF.IMPORT_FILE_INVALID)
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        if not idempotency_key:
            return await self._submit(actor, department.code, department.name, data, digest)
        scope = f"matter-import:{actor_id(actor)}"
        stored = await self.idempotency.claim(scope, idempotency_key, f"{department.code}:{digest}")
        if stored is not None:
            job = await self.jobs.get(stored.body["job_id"])
            if job is not None:
                return job, False
        try:
            job, created = await self._submit(actor, department.code, department.name, data, digest)
        except BaseException:
            await self.idempotency.release(scope, idempotency_key)
            raise
        await self.idempotency.complete(scope, idempotency_key, StoredAnswer(202, {"job_id": job["_id"]}))
        return job, created

    async def get(self, actor: Actor, job_id: str) -> dict[str, Any]:
        """The job with its progress and report, for the department's admins."""
        job = await self.jobs.get(job_id)
        if job is None:
            raise AppError(AF.IMPORT_JOB_NOT_FOUND)
        authorize_matter_change(actor, job["department_code"])
        return job

    async def _submit(self, actor: Actor, department_code: str, department_name: str, data: bytes,
                      digest: str) -> tuple[dict[str, Any], bool]:
        key = active_key(department_code, digest)
        existing = await self.jobs.active(key)
        if existing is not None:
            await self._requeue_if_lost(existing)
            return existing, False
        job_id = new_id()
        object_key = f"tmp/matter-imports/{job_id}.xlsx"
        await self.objects.put_bytes(self.bucket, object_key, data, XLSX_MEDIA_TYPE)
        now = bson_time()
        doc: dict[str, Any] = {
            "_id": job_id, "department_code": department_code, "department_name": department_name,
            "actor": actor_id(actor), "actor_department": actor.department_id, "sha256": digest,
            "size": len(data), "object_key": object_key, "active_key": key, "state": JobState.QUEUED.value,
            "progress": 0, "counts": {}, "issues": [], "issues_total": 0, "results": [], "message": None,
            "attempts": 0, "created_at": now, "updated_at": now, "started_at": None, "finished_at": None,
            "heartbeat_at": None,
        }
        if await self.jobs.insert(doc) is None:  # the same file was uploaded concurrently: theirs wins
            await self.objects.delete(self.bucket, object_key)
            existing = await self.jobs.active(key)
            if existing is None:
                raise AppError(CONFLICT, errmsg="相同的文件刚刚导入失败，请重新上传")
            return existing, False
        await self._send(doc)
        log.info("matter_import_queued", job_id=job_id, department=department_code, size=len(data))
        return doc, True

    async def _send(self, job: dict[str, Any]) -> None:
        try:
            await self.publish(IMPORT_TASK, job["_id"], queue=IMPORT_QUEUE)
        except Exception:
            log.exception("matter_import_not_queued", job_id=job["_id"])
            await self.jobs.fail(job["_id"], message="任务队列暂时不可用，未导入任何事项，请稍后重新上传")
            raise AppError(SERVICE_UNAVAILABLE) from None

    async def _requeue_if_lost(self, job: dict[str, Any]) -> None:
        """A process that died between creating the job and queueing it left it queued: queue it again (the
        worker's claim makes a duplicate harmless)."""
        if job["state"] == JobState.QUEUED and job["created_at"] < bson_time() - REQUEUE_AFTER:
            log.warning("matter_import_requeued", job_id=job["_id"])
            await self.publish(IMPORT_TASK, job["_id"], queue=IMPORT_QUEUE)
