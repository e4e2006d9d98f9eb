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

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from core.clock import bson_time
from core.jobs import JobRepository, JobState

MAX_IMPORT_BYTES = 5 * 1024 * 1024
IMPORT_TASK = "affairs.import_tasks.run_matter_import"
IMPORT_QUEUE = "bulk"


def active_key(department_code: str, sha256: str) -> str:
    return f"{department_code}:{sha256}"


class ImportJobRepository(JobRepository):
    """Claim, progress and failure are core/jobs.py's; `done` is written inside the import's transaction."""

    collection_name = "matter_imports"
    indexes = (
        IndexModel([("active_key", ASCENDING)], unique=True, sparse=True, name="active_key"),
        IndexModel([("department_code", ASCENDING), ("created_at", DESCENDING)], name="department_recent"),
    )

    async def finish(self, job_id: str, fields: dict[str, Any], *, session: AsyncClientSession) -> bool:
        """importing → done, inside the transaction that imported the matters."""
        now = bson_time()
        done = await self.collection.update_one(
            {"_id": job_id, "state": JobState.IMPORTING.value},
            {"$set": {**fields, "state": JobState.DONE.value, "progress": 100, "finished_at": now,
                      "updated_at": now}},
            session=session,
        )
        return done.modified_count == 1
