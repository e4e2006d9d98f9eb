"""Account events: what happened to a person's account (bindings, suspicious attempts, logins elsewhere).

An append-only record per person. It is the audit trail of the account, and the notifications pipeline reads it
to tell the person (e.g. "someone tried to bind your ID number"). Details hold masked values only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING, IndexModel

from core.ids import new_id
from core.masking import mask_value
from core.mongo import Repository


class AccountEventRepository(Repository):
    collection_name = "account_events"
    indexes = (
        IndexModel([("person_id", 1), ("_id", DESCENDING)], name="person_recent"),
        IndexModel([("notified_at", 1), ("type", 1)], name="to_notify",
                   partialFilterExpression={"notify": True}),
    )

    # Event types the person must hear about; the others are kept for the audit trail only.
    NOTIFY = frozenset({"citizen_id_bind_attempt_by_other", "refresh_token_reused", "phone_bind_attempt_by_other"})

    async def record(self, person_id: str, type_: str, details: dict[str, Any]) -> str:
        event_id = new_id()
        await self.collection.insert_one({
            "_id": event_id, "person_id": person_id, "type": type_, "details": mask_value(details),
            "at": datetime.now(UTC), "notify": type_ in self.NOTIFY, "notified_at": None,
        })
        return event_id

    async def recent(self, person_id: str, limit: int = 50) -> list[dict[str, Any]]:
        cursor = self.collection.find({"person_id": person_id}).sort("_id", DESCENDING).limit(limit)
        return [doc async for doc in cursor]
