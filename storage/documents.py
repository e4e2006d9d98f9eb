"""Documents uploaded by residents (`documents`): one record per upload slot, from slot to checked file, and
the case material it is attached to.

    pending ──▶ ready      (confirmed: size and first bytes right, SHA-256 stored, images stripped of metadata)
       └──────▶ rejected   (confirmed but wrong: the objects were deleted, `reject_reason` says why)
    pending | ready | rejected ──▶ deleting ──▶ (gone)   (the owner or the clean-up job deletes it)

A ready document is attached to at most one (case_id, material_code); `unattached_since` restarts the 30-day
clock of the clean-up job when it is detached. The phone uploads to `incoming/<owner>/<id>` (a temporary prefix
nobody reads); confirmation copies it server-side to `documents/<owner>/<id>`, which no presigned upload URL can
reach, and checks that copy, so nothing can be swapped between the check and the use.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from core.clock import bson_time
from core.mongo import Repository

INCOMING_PREFIX = "incoming/"
STORED_PREFIX = "documents/"


class DocumentState(StrEnum):
    PENDING = "pending"
    READY = "ready"
    REJECTED = "rejected"
    DELETING = "deleting"


VISIBLE = [DocumentState.PENDING.value, DocumentState.READY.value, DocumentState.REJECTED.value]
_BYTES = {"$ifNull": ["$stored_size", {"$ifNull": ["$size", "$declared_size"]}]}
OPEN = [DocumentState.PENDING.value, DocumentState.READY.value]  # what the per-person quota counts, unattached


def incoming_key(owner_person_id: str, document_id: str) -> str:
    return f"{INCOMING_PREFIX}{owner_person_id}/{document_id}"


def stored_key(owner_person_id: str, document_id: str) -> str:
    return f"{STORED_PREFIX}{owner_person_id}/{document_id}"


class DocumentRepository(Repository):
    collection_name = "documents"
    indexes = (
        IndexModel([("owner_person_id", ASCENDING), ("created_at", DESCENDING)], name="owner_recent"),
        IndexModel([("state", ASCENDING), ("created_at", ASCENDING)], name="state_age"),  # clean-up of stale slots
        IndexModel([("owner_person_id", ASCENDING), ("state", ASCENDING), ("case_id", ASCENDING)], name="owner_open"),
        IndexModel([("case_id", ASCENDING), ("material_code", ASCENDING)], name="case_material", sparse=True),
        IndexModel([("state", ASCENDING), ("case_id", ASCENDING), ("unattached_since", ASCENDING)],
                   name="unattached_age"),
    )

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.collection.insert_one(doc)

    async def get_owned(self, owner_person_id: str, document_id: str) -> dict[str, Any] | None:
        """The document if this person owns it; None when it is missing, being deleted or someone else's."""
        return await self.collection.find_one({"_id": document_id, "owner_person_id": owner_person_id,
                                               "state": {"$in": VISIBLE}})

    async def get(self, document_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": document_id, "state": {"$in": VISIBLE}})

    async def finish(self, document_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """pending → ready | rejected, once: None when another confirmation (or a deletion) got there first."""
        now = bson_time()
        extra = {"unattached_since": now} if changes.get("state") == DocumentState.READY else {}
        return await self.collection.find_one_and_update(
            {"_id": document_id, "state": DocumentState.PENDING.value},
            {"$set": {**changes, **extra, "confirmed_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def open_usage(self, owner_person_id: str) -> tuple[int, int]:
        """(count, bytes) of the person's pending and unattached ready documents: what the quota limits. A
        pending slot counts its declared size, which its upload policy cannot exceed."""
        return await self.measure({"owner_person_id": owner_person_id, "state": {"$in": OPEN}, "case_id": None})

    async def measure(self, condition: dict[str, Any]) -> tuple[int, int]:
        """(count, bytes) of the documents matching `condition`: bytes stored, else uploaded, else declared."""
        pipeline: list[dict[str, Any]] = [
            {"$match": condition},
            {"$group": {"_id": None, "count": {"$sum": 1}, "bytes": {"$sum": _BYTES}}},
        ]
        async for row in await self.collection.aggregate(pipeline):
            return int(row["count"]), int(row["bytes"])
        return 0, 0

    # -- cases: attach and detach (the case workflow calls these through Documents) ---------------------------
    async def owned_many(self, owner_person_id: str, document_ids: Sequence[str],
                         session: AsyncClientSession | None) -> list[dict[str, Any]]:
        cursor = self.collection.find({"_id": {"$in": list(document_ids)}, "owner_person_id": owner_person_id,
                                       "state": {"$in": VISIBLE}}, session=session)
        return [doc async for doc in cursor]

    async def set_attachment(self, owner_person_id: str, document_ids: Sequence[str], case_id: str,
                             material_code: str, session: AsyncClientSession | None) -> int:
        """Attach the ready, unattached ones (those already on this material stay); how many match now."""
        await self.collection.update_many(
            {"_id": {"$in": list(document_ids)}, "owner_person_id": owner_person_id,
             "state": DocumentState.READY.value, "case_id": None},
            {"$set": {"case_id": case_id, "material_code": material_code, "attached_at": bson_time(),
                      "unattached_since": None}},
            session=session,
        )
        return await self.collection.count_documents(
            {"_id": {"$in": list(document_ids)}, "owner_person_id": owner_person_id,
             "state": DocumentState.READY.value, "case_id": case_id, "material_code": material_code},
            session=session)

    async def clear_attachment(self, owner_person_id: str, document_ids: Sequence[str], case_id: str,
                               session: AsyncClientSession | None) -> None:
        await self.collection.update_many(
            {"_id": {"$in": list(document_ids)}, "owner_person_id": owner_person_id, "case_id": case_id},
            {"$set": {"case_id": None, "material_code": None, "attached_at": None,
                      "unattached_since": bson_time()}},
            session=session,
        )

    async def attached_to(self, document_id: str, case_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": document_id, "case_id": case_id,
                                               "state": DocumentState.READY.value})

    # -- deletion (the owner, or the clean-up job): mark, then delete the objects, then the record ------------
    async def mark_deleting(self, condition: dict[str, Any], *, limit: int, now: datetime) -> list[dict[str, Any]]:
        """Claim up to `limit` documents matching `condition` for deletion, each atomically (a document attached
        or confirmed in the meantime no longer matches and is left alone)."""
        claimed = []
        async for doc in self.collection.find(condition, {"_id": 1}).limit(limit):
            marked = await self.collection.find_one_and_update(
                {**condition, "_id": doc["_id"]},
                {"$set": {"state": DocumentState.DELETING.value, "deleting_since": bson_time(now)}},
                return_document=ReturnDocument.AFTER)
            if marked is not None:
                claimed.append(marked)
        return claimed

    async def being_deleted(self, *, limit: int) -> list[dict[str, Any]]:
        """Documents claimed for deletion whose deletion did not finish (a crash half-way): finish them."""
        cursor = self.collection.find({"state": DocumentState.DELETING.value}).limit(limit)
        return [doc async for doc in cursor]

    async def remove(self, document_id: str) -> bool:
        result = await self.collection.delete_one({"_id": document_id, "state": DocumentState.DELETING.value})
        return result.deleted_count == 1

    async def find_matching(self, condition: dict[str, Any], *, limit: int) -> list[dict[str, Any]]:
        return [doc async for doc in self.collection.find(condition).limit(limit)]
