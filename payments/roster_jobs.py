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

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel

from core.clock import bson_time
from core.jobs import MAX_REPORTED_ISSUES, JobRepository, JobState

MAX_ROSTER_BYTES = 5 * 1024 * 1024
ROSTER_TASK = "payments.roster_tasks.run_roster_import"
ROSTER_QUEUE = "bulk"


class RosterJobRepository(JobRepository):
    """Claim, progress and failure are core/jobs.py's; `done` releases the file's key too."""

    collection_name = "roster_imports"
    indexes = (
        IndexModel([("active_key", ASCENDING)], unique=True, sparse=True, name="active_key"),
        IndexModel([("school_id", ASCENDING), ("created_at", DESCENDING)], name="school_recent"),
    )

    async def finish(self, job_id: str, counts: dict[str, int], message: str,
                     notices: list[dict[str, Any]] | None = None) -> None:
        """Done; `notices` are rows imported with something to say (a student who left stays left)."""
        now = bson_time()
        await self.collection.update_one(
            {"_id": job_id, "state": JobState.IMPORTING.value},
            {"$set": {"state": JobState.DONE.value, "progress": 100, "counts": counts, "message": message,
                      "notices": (notices or [])[:MAX_REPORTED_ISSUES], "finished_at": now, "updated_at": now},
             "$unset": {"active_key": ""}},
        )
