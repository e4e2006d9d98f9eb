"""The audit trail: who changed what, when, from which state and version to which. Append-only.

The repository has no update or delete, so application code cannot rewrite history; each entry is written
after the change it records has been stored (a failed change leaves no entry, a crash between the two can
lose one entry but never invent one). Entries are per subject (`kind` + `key`, e.g. `matter` +
`430182-WJ-0001`), read by 电子监察 (supervisors) in time order; two changes within one millisecond are
ordered by the subject's own counter, which callers put in `detail["revision"]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from core.ids import new_id
from core.mongo import Repository


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    at: datetime
    actor: str  # staff id, or `system:<job>` for seeds and imports
    actor_department: str | None
    action: str  # e.g. `matter.create`, `matter.publish`
    kind: str
    key: str
    before: dict[str, Any] | None  # e.g. {"status": "under_review", "draft_version": 2, "published_version": 1}
    after: dict[str, Any] | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, doc: dict[str, Any]) -> AuditEntry:
        return cls(id=doc["_id"], at=doc["at"], actor=doc["actor"], actor_department=doc.get("actor_department"),
                   action=doc["action"], kind=doc["kind"], key=doc["key"], before=doc.get("before"),
                   after=doc.get("after"), detail=doc.get("detail", {}))


class AuditRepository(Repository):
    collection_name = "audit_log"
    indexes = (
        IndexModel([("kind", ASCENDING), ("key", ASCENDING), ("at", ASCENDING)], name="subject"),
        IndexModel([("actor", ASCENDING), ("at", ASCENDING)], name="actor"),
    )

    async def append(self, *, actor: str, actor_department: str | None, action: str, kind: str, key: str,
                     before: dict[str, Any] | None, after: dict[str, Any] | None,
                     detail: dict[str, Any] | None = None, session: AsyncClientSession | None = None) -> AuditEntry:
        """`session`: inside the transaction of the change it records (the xlsx import), so both or neither."""
        doc = {"_id": new_id(), "at": datetime.now(UTC), "actor": actor, "actor_department": actor_department,
               "action": action, "kind": kind, "key": key, "before": before, "after": after, "detail": detail or {}}
        await self.collection.insert_one(doc, session=session)
        return AuditEntry.of(doc)

    async def for_subject(self, kind: str, key: str, *, limit: int = 200) -> list[AuditEntry]:
        """The subject's history, oldest first."""
        cursor = self.collection.find({"kind": kind, "key": key}).sort("at", ASCENDING).limit(limit)
        entries = [AuditEntry.of(doc) async for doc in cursor]
        return sorted(entries, key=lambda e: (e.at, e.detail.get("revision", 0)))
