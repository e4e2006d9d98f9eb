"""Every staff download of a resident's document (`document_access_log`): who, when, which document of whose,
for which case. Append-only (the repository has no update or delete); 电子监察 reads it per document, per case
and per staff member. An entry is written before the link is issued, so a link never exists without one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel

from core.clock import bson_time
from core.ids import new_id
from core.mongo import Repository


class DocumentAccessLogRepository(Repository):
    collection_name = "document_access_log"
    indexes = (
        IndexModel([("document_id", ASCENDING), ("at", ASCENDING)], name="document"),
        IndexModel([("case_id", ASCENDING), ("at", ASCENDING)], name="case"),
        IndexModel([("staff_id", ASCENDING), ("at", ASCENDING)], name="staff"),
    )

    async def append(self, *, staff_id: str, department_id: str | None, document: dict[str, Any], case_id: str,
                     request_id: str | None, at: datetime | None = None) -> dict[str, Any]:
        entry = {"_id": new_id(), "at": bson_time(at), "action": "download", "staff_id": staff_id,
                 "department_id": department_id, "document_id": document["_id"], "case_id": case_id,
                 "material_code": document.get("material_code"), "owner_person_id": document["owner_person_id"],
                 "request_id": request_id}
        await self.collection.insert_one(entry)
        return entry

    async def for_document(self, document_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        cursor = self.collection.find({"document_id": document_id}).sort("at", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def for_case(self, case_id: str, *, limit: int = 500) -> list[dict[str, Any]]:
        cursor = self.collection.find({"case_id": case_id}).sort("at", ASCENDING).limit(limit)
        return [doc async for doc in cursor]
