"""Clean-up of residents' documents (run by Celery beat, storage/cleanup_tasks.py): what nobody will use again.

- slots never confirmed within `pending_ttl` (24 h; a slot's upload URL lives 10 minutes), and rejected
  uploads' records (their objects went at confirmation) after the same time;
- checked documents never attached to a case within `unattached_ttl` (30 days since confirmation or detachment);
- objects under `incoming/` older than `pending_ttl`: what an S3 lifecycle rule would expire (SeaweedFS
  stores such a rule but does not apply it, docs/documents.md), left by a crash between confirmation and the
  removal of the upload.

Every run first computes the report of what it would delete (counts and bytes per category, some ids) and logs
it; a dry run stops there. Deletion is mark-then-delete: each document is claimed in MongoDB with one atomic
update that re-checks the condition (`state: deleting`), then its objects are deleted, then its record. Why not
delete the object first: between the query and the S3 call the owner could attach the document to a case, which
would leave a submitted material pointing at nothing. Claiming first makes the decision atomic (a document
attached a millisecond earlier no longer matches; one claimed first is gone for the owner too), and a crash
half-way leaves a `deleting` record that the next run finishes. A second run deletes nothing new: the records
are gone, and deleting an object twice is not an error in S3.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from core.clock import bson_time
from storage.document_service import Documents
from storage.documents import INCOMING_PREFIX, DocumentState

log = structlog.get_logger(__name__)
SAMPLE_IDS = 20


@dataclass
class Category:
    count: int = 0
    bytes: int = 0
    sample: list[str] = field(default_factory=list)  # some ids (or keys), for a person reading the report


@dataclass
class CleanupReport:
    now: datetime
    dry_run: bool
    would_delete: dict[str, Category]
    deleted: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "dry_run": self.dry_run, "deleted": self.deleted,
                "would_delete": {name: asdict(c) for name, c in self.would_delete.items()}}


class DocumentCleanup:
    def __init__(self, documents: Documents, *, pending_ttl: timedelta, unattached_ttl: timedelta,
                 batch: int = 200, max_per_run: int = 20_000) -> None:
        self.documents, self.repo = documents, documents.repo
        self.pending_ttl, self.unattached_ttl = pending_ttl, unattached_ttl
        self.batch, self.max_per_run = batch, max_per_run

    def conditions(self, now: datetime) -> dict[str, dict[str, Any]]:
        slots_before, unattached_before = bson_time(now - self.pending_ttl), bson_time(now - self.unattached_ttl)
        return {
            "interrupted": {"state": DocumentState.DELETING.value},
            "stale_slots": {"state": DocumentState.PENDING.value, "created_at": {"$lt": slots_before}},
            "rejected": {"state": DocumentState.REJECTED.value, "created_at": {"$lt": slots_before}},
            "unattached": {"state": DocumentState.READY.value, "case_id": None,
                           "unattached_since": {"$lt": unattached_before}},
        }

    async def report(self, now: datetime) -> CleanupReport:
        """What a run at `now` would delete: the dry run."""
        categories = {}
        for name, condition in self.conditions(now).items():
            categories[name] = await self._measure(condition)
        stale = await self._stale_incoming(now)
        categories["stale_uploads"] = Category(len(stale), sum(o.size for o in stale),
                                               [o.key for o in stale[:SAMPLE_IDS]])
        return CleanupReport(now=now, dry_run=True, would_delete=categories)

    async def run(self, now: datetime, *, dry_run: bool = False) -> CleanupReport:
        """Report, then (unless `dry_run`) delete what the report lists, as of `now`."""
        report = await self.report(now)
        log.info("document_cleanup_plan", **report.as_dict())
        if dry_run:
            return report
        report.dry_run = False
        conditions = self.conditions(now)
        report.deleted["interrupted"] = await self._finish(await self.repo.being_deleted(limit=self.max_per_run))
        for name in ("stale_slots", "rejected", "unattached"):
            report.deleted[name] = await self._delete_matching(conditions[name], now)
        stale = await self._stale_incoming(now)
        for item in stale:
            await self.documents.objects.delete(self.documents.bucket, item.key)
        report.deleted["stale_uploads"] = len(stale)
        log.info("document_cleanup_done", deleted=report.deleted)
        return report

    async def _delete_matching(self, condition: dict[str, Any], now: datetime) -> int:
        deleted = 0
        while deleted < self.max_per_run:
            claimed = await self.repo.mark_deleting(condition, limit=self.batch, now=now)
            if not claimed:
                break
            deleted += await self._finish(claimed)
        return deleted

    async def _finish(self, claimed: list[dict[str, Any]]) -> int:
        for doc in claimed:
            await self.documents.purge(doc)
        return len(claimed)

    async def _measure(self, condition: dict[str, Any]) -> Category:
        count, size = await self.repo.measure(condition)
        sample = [d["_id"] for d in await self.repo.find_matching(condition, limit=SAMPLE_IDS)] if count else []
        return Category(count, size, sample)

    async def _stale_incoming(self, now: datetime) -> list[Any]:
        store = self.documents.objects
        return await store.list_older(self.documents.bucket, INCOMING_PREFIX, now - self.pending_ttl,
                                      limit=self.max_per_run)
