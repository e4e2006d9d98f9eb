"""Uploaded-file jobs run by a Celery worker under a lease: the xlsx imports of the catalogue and of rosters.

    queued ──▶ validating ──▶ importing ──▶ done
                   │              │
                   └──────────────┴──────▶ failed (the report says why)

The API inserts the job (`queued`, with an `active_key` unique among live jobs so a double click or the same file
uploaded again finds the job already there) and queues its id. A worker claims the job atomically, so a
re-delivered task never runs it twice, and a job whose worker went silent (no heartbeat for LEASE) is claimed
again; after MAX_ATTEMPTS claims it fails instead of crashing forever. `JobRepository.run` is that loop's body,
written once; each kind of job supplies its collection, indexes, its own `finish` and the work itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import StrEnum
from typing import Any

import structlog
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from core.clock import bson_time
from core.mongo import Repository

log = structlog.get_logger(__name__)

MAX_REPORTED_ISSUES = 2000  # a report lists every bad cell, up to this many (the total is always kept)
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3


class JobState(StrEnum):
    QUEUED = "queued"
    VALIDATING = "validating"
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"


RUNNING = [JobState.VALIDATING.value, JobState.IMPORTING.value]


class JobRepository(Repository):
    """The lease and report bookkeeping shared by every job collection (subclasses name the collection)."""

    async def insert(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Store a new job; None when a job with the same `active_key` is live."""
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
        return await self.collection.find_one_and_update(
            {"_id": job_id, "$or": [{"state": JobState.QUEUED.value},
                                    {"state": {"$in": RUNNING}, "heartbeat_at": {"$lt": now - LEASE}}]},
            {"$set": {"state": JobState.VALIDATING.value, "progress": 0, "started_at": now, "heartbeat_at": now,
                      "updated_at": now}, "$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )

    async def progress(self, job_id: str, state: JobState, percent: int, **fields: Any) -> None:
        """Progress for the client to show; also the heartbeat that keeps the lease."""
        now = bson_time()
        await self.collection.update_one(
            {"_id": job_id, "state": {"$in": RUNNING}},
            {"$set": {"state": state.value, "progress": percent, "heartbeat_at": now, "updated_at": now, **fields}},
        )

    async def fail(self, job_id: str, *, message: str, issues: list[dict[str, Any]] | None = None,
                   **fields: Any) -> None:
        """→ failed with the report (capped at MAX_REPORTED_ISSUES), releasing the file's key so it can be
        uploaded again once the cause is gone."""
        now = bson_time()
        report = issues or []
        await self.collection.update_one(
            {"_id": job_id, "state": {"$ne": JobState.DONE.value}},
            {"$set": {**fields, "state": JobState.FAILED.value, "message": message,
                      "issues": report[:MAX_REPORTED_ISSUES], "issues_total": len(report), "finished_at": now,
                      "updated_at": now}, "$unset": {"active_key": ""}},
        )

    async def run(self, job_id: str, work: Callable[[dict[str, Any]], Awaitable[str]], *,
                  internal_failure: str, after: Callable[[dict[str, Any]], Awaitable[None]]) -> str | None:
        """Claim the job and run `work` on it; its final state, or None when there was nothing to do.

        A crash (or one claim too many) fails the job with `internal_failure`, the user's wording; `after` runs
        either way (deleting the uploaded file), and its own failure is only logged: the report matters more.
        """
        name = self.collection_name
        job = await self.claim(job_id)
        if job is None:
            log.info("job_not_claimed", jobs=name, job_id=job_id)  # finished, or running in another worker
            return None
        try:
            if job["attempts"] > MAX_ATTEMPTS:
                await self.fail(job_id, message=internal_failure)
                state = JobState.FAILED.value
            else:
                state = await work(job)
        except Exception:
            log.exception("job_crashed", jobs=name, job_id=job_id)
            await self.fail(job_id, message=internal_failure)
            state = JobState.FAILED.value
        try:
            await after(job)
        except Exception:
            log.warning("job_cleanup_failed", jobs=name, job_id=job_id, exc_info=True)
        return state
