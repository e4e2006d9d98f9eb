"""Documents uploaded by residents (`documents`): one record per upload slot, from slot to checked file.

    pending ──▶ ready      (confirmed: the object exists, its size and first bytes are right, SHA-256 stored)
       └──────▶ rejected   (confirmed but wrong: the object was deleted, `reject_reason` says why)

The object lives at `uploads/<owner>/<id>` in the documents bucket; the bytes go from the phone to S3 directly.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from core.clock import bson_time
from core.mongo import Repository


class DocumentState(StrEnum):
    PENDING = "pending"
    READY = "ready"
    REJECTED = "rejected"



def object_key(owner_person_id: str, document_id: str) -> str:
    return f"uploads/{owner_person_id}/{document_id}"


class DocumentRepository(Repository):
    collection_name = "documents"
    indexes = (
        IndexModel([("owner_person_id", ASCENDING), ("created_at", DESCENDING)], name="owner_recent"),
        IndexModel([("state", ASCENDING), ("created_at", ASCENDING)], name="state_age"),  # clean-up of stale slots
    )

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.collection.insert_one(doc)

    async def get_owned(self, owner_person_id: str, document_id: str) -> dict[str, Any] | None:
        """The document if this person owns it; None when it is missing or someone else's (same answer)."""
        return await self.collection.find_one({"_id": document_id, "owner_person_id": owner_person_id})

    async def finish(self, document_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """pending → ready | rejected, once: None when another confirmation got there first."""
        return await self.collection.find_one_and_update(
            {"_id": document_id, "state": DocumentState.PENDING.value},
            {"$set": {**changes, "confirmed_at": bson_time()}},
            return_document=ReturnDocument.AFTER,
        )
