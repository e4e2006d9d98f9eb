"""The staff audit trail: who changed which staff account, how, and when (`staff_audit`, append-only).

Separate from `account_events` (a resident's own history, read to notify them): this one is read by 电子监察 and
by administrators, and its subjects are staff accounts. Every administrative change writes one record — account
created, disabled, roles changed — and so does every security event of the account itself: each login (with how
it was proven), lockout, password change, WeChat binding, unbinding and refused WeChat bind or login. Details are
masked before they are stored, so a mobile number typed into a free-text field never lands here in clear.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING, IndexModel

from core.ids import new_id
from core.masking import mask_value
from core.mongo import Repository


class StaffAuditRepository(Repository):
    collection_name = "staff_audit"
    indexes = (
        IndexModel([("target_staff_id", 1), ("_id", DESCENDING)], name="target_recent"),
        IndexModel([("actor_staff_id", 1), ("_id", DESCENDING)], name="actor_recent"),
    )

    async def record(self, action: str, *, target_staff_id: str, actor_staff_id: str | None,
                     details: dict[str, Any] | None = None, request_ip: str | None = None) -> str:
        """`actor_staff_id` None means the system itself (bootstrap CLI, demo seeding, automatic lockout)."""
        event_id = new_id()
        await self.collection.insert_one({
            "_id": event_id, "action": action, "target_staff_id": target_staff_id,
            "actor_staff_id": actor_staff_id, "details": mask_value(details or {}), "ip": request_ip,
            "at": datetime.now(UTC),
        })
        return event_id

    async def for_target(self, staff_id: str, limit: int = 50) -> list[dict[str, Any]]:
        cursor = self.collection.find({"target_staff_id": staff_id}).sort("_id", DESCENDING).limit(limit)
        return [doc async for doc in cursor]
