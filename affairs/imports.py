"""Import jobs of the catalogue (`matter_imports`): one document per uploaded workbook, from upload to report.

    queued ──▶ validating ──▶ importing ──▶ done
                   │              │
                   └──────────────┴──────▶ failed (the report says why; nothing was imported)

The API creates the job (`queued`) and a Celery task runs it. The task claims it atomically, so a re-delivered
task never runs a job twice, and a job whose worker died (no heartbeat for LEASE) is claimed again. The final
`done` is written in the same transaction as the matters, so "done" and "imported" are one fact.

`active_key` (department + SHA-256 of the file) is unique among jobs that did not fail: uploading the same file
again returns the job already queued, running or done instead of importing twice. A failed job releases its
key, so the same file can be tried again once the cause (a department not yet created, a conflict) is gone.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from core.clock import bson_time
from core.mongo import Repository

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_REPORTED_ISSUES = 2000
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
IMPORT_TASK = "affairs.import_tasks.run_matter_import"
IMPORT_QUEUE = "bulk"


class ImportState(StrEnum):
    QUEUED = "queued"
    VALIDATING = "validating"
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"



def active_key(department_code: str, sha256: str) -> str:
    return f"{department_code}:{sha256}"


class ImportJobRepository(Repository):
    collection_name = "matter_imports"
    indexes = (
        IndexModel([("active_key", ASCENDING)], unique=True, sparse=True, name="active_key"),
        IndexModel([("department_code", ASCENDING), ("created_at", DESCENDING)], name="department_recent"),
    )

    async def insert(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Store a new job; None when a job for the same department and file is already active."""
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return None
        return doc

    async def get(self, job_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": job_id})

    async def active(self, key: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"active_key": key})

    async def claim(self, job_id: str) -> dict[str, Any] | None:
        """queued → validating for this worker (or a running job whose worker went silent); None when the job
        is finished, running elsewhere, or gone."""
        now = bson_time()
        stale = now - LEASE
        return await self.collection.find_one_and_update(
            {"_id": job_id, "$or": [
                {"state": ImportState.QUEUED.value},
                {"state": {"$in": [ImportState.VALIDATING.value, ImportState.IMPORTING.value]},
                 "heartbeat_at": {"$lt": stale}},
            ]},
            {"$set": {"state": ImportState.VALIDATING.value, "progress": 0, "started_at": now,
                      "heartbeat_at": now, "updated_at": now}, "$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )

    async def progress(self, job_id: str, state: ImportState, percent: int, **fields: Any) -> None:
        now = bson_time()
        await self.collection.update_one(
            {"_id": job_id, "state": {"$in": [ImportState.VALIDATING.value, ImportState.IMPORTING.value]}},
            {"$set": {"state": state.value, "progress": percent, "heartbeat_at": now, "updated_at": now, **fields}},
        )

    async def finish(self, job_id: str, fields: dict[str, Any], *, session: AsyncClientSession) -> bool:
        """importing → done, inside the transaction that imported the matters."""
        now = bson_time()
        done = await self.collection.update_one(
            {"_id": job_id, "state": ImportState.IMPORTING.value},
            {"$set": {**fields, "state": ImportState.DONE.value, "progress": 100, "finished_at": now,
                      "updated_at": now}},
            session=session,
        )
        return done.modified_count == 1

    async def fail(self, job_id: str, *, message: str, issues: list[dict[str, Any]] | None = None,
                   **fields: Any) -> None:
        """→ failed with the report (capped at MAX_REPORTED_ISSUES), releasing the file's key."""
        now = bson_time()
        report = issues or []
        await self.collection.update_one(
            {"_id": job_id, "state": {"$ne": ImportState.DONE.value}},
            {"$set": {**fields, "state": ImportState.FAILED.value, "message": message,
                      "issues": report[:MAX_REPORTED_ISSUES], "issues_total": len(report),
                      "finished_at": now, "updated_at": now},
             "$unset": {"active_key": ""}},
        )
