"""Roster import jobs (`roster_imports`): one document per uploaded roster, from upload to report.

    queued ──▶ validating ──▶ importing ──▶ done
                   │              │
                   └──────────────┴──────▶ failed (the report says why; no student was written)

As for the catalogue (affairs/imports.py): the API creates the job, a Celery task claims it atomically (a
re-delivered task never runs it twice; a job whose worker went silent past LEASE is claimed again), and the
report lists every bad cell. Unlike the catalogue, `active_key` (school + SHA-256 of the file) is released when
the job ends either way: it only merges a double click into one job. Uploading the same roster again later runs
again, and finds every student unchanged, because students are upserted by (school, student number).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from core.clock import bson_time
from core.mongo import Repository

MAX_ROSTER_BYTES = 5 * 1024 * 1024
MAX_REPORTED_ISSUES = 2000
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
ROSTER_TASK = "payments.roster_tasks.run_roster_import"
ROSTER_QUEUE = "bulk"


class RosterState(StrEnum):
    QUEUED = "queued"
    VALIDATING = "validating"
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"


RUNNING = [RosterState.VALIDATING.value, RosterState.IMPORTING.value]


class RosterJobRepository(Repository):
    collection_name = "roster_imports"
    indexes = (
        IndexModel([("active_key", ASCENDING)], unique=True, sparse=True, name="active_key"),
        IndexModel([("school_id", ASCENDING), ("created_at", DESCENDING)], name="school_recent"),
    )

    async def insert(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Store a new job; None when the same file for the same school is queued or running."""
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
        """queued → validating for this worker (or a running job whose worker went silent); None otherwise."""
        now = bson_time()
        return await self.collection.find_one_and_update(
            {"_id": job_id, "$or": [{"state": RosterState.QUEUED.value},
                                    {"state": {"$in": RUNNING}, "heartbeat_at": {"$lt": now - LEASE}}]},
            {"$set": {"state": RosterState.VALIDATING.value, "progress": 0, "started_at": now, "heartbeat_at": now,
                      "updated_at": now}, "$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )

    async def progress(self, job_id: str, state: RosterState, percent: int, **fields: Any) -> None:
        now = bson_time()
        await self.collection.update_one(
            {"_id": job_id, "state": {"$in": RUNNING}},
            {"$set": {"state": state.value, "progress": percent, "heartbeat_at": now, "updated_at": now, **fields}},
        )

    async def finish(self, job_id: str, counts: dict[str, int], message: str) -> None:
        now = bson_time()
        await self.collection.update_one(
            {"_id": job_id, "state": RosterState.IMPORTING.value},
            {"$set": {"state": RosterState.DONE.value, "progress": 100, "counts": counts, "message": message,
                      "finished_at": now, "updated_at": now}, "$unset": {"active_key": ""}},
        )

    async def fail(self, job_id: str, *, message: str, issues: list[dict[str, Any]] | None = None,
                   **fields: Any) -> None:
        now = bson_time()
        report = issues or []
        await self.collection.update_one(
            {"_id": job_id, "state": {"$ne": RosterState.DONE.value}},
            {"$set": {**fields, "state": RosterState.FAILED.value, "message": message,
                      "issues": report[:MAX_REPORTED_ISSUES], "issues_total": len(report), "finished_at": now,
                      "updated_at": now}, "$unset": {"active_key": ""}},
        )
