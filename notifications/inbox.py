"""The in-app notification centre: one item per event × recipient, whatever channels carried it.

Every notification lands here, including the ones no channel could deliver, so the mini-program's 消息 tab is
complete even for a person who never granted a subscription and has no phone. One item per event and person
(unique `dedup`), not per channel: a message that fell back from WeChat to SMS is still one notification.
Pages are by id, newest first, behind an opaque cursor; `unread` is a boolean so the unread count uses a
partial index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import DESCENDING, IndexModel

from core.clock import bson_time
from core.mongo import Repository, insert_new


def inbox_key(event_id: str, kind: str, recipient_id: str) -> str:
    return f"{event_id}:{kind}:{recipient_id}"


class InboxRepository(Repository):
    collection_name = "notification_inbox"
    indexes = (
        IndexModel([("dedup", 1)], unique=True, name="dedup_unique"),
        IndexModel([("recipient.kind", 1), ("recipient.id", 1), ("_id", DESCENDING)], name="recipient_recent"),
        IndexModel([("recipient.kind", 1), ("recipient.id", 1)], name="recipient_unread",
                   partialFilterExpression={"unread": True}),
    )

    async def insert_new(self, items: list[dict[str, Any]]) -> int:
        return len(await insert_new(self.collection, items))

    async def page(self, kind: str, recipient_id: str, *, before: str | None, limit: int,
                   unread_only: bool = False) -> list[dict[str, Any]]:
        """Newest first; `before` is the id of the last item of the previous page."""
        query: dict[str, Any] = {"recipient.kind": kind, "recipient.id": recipient_id}
        if unread_only:
            query["unread"] = True
        if before:
            query["_id"] = {"$lt": before}
        cursor = self.collection.find(query).sort("_id", DESCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def unread_count(self, kind: str, recipient_id: str) -> int:
        return await self.collection.count_documents(
            {"recipient.kind": kind, "recipient.id": recipient_id, "unread": True})

    async def mark_read(self, kind: str, recipient_id: str, item_id: str, *, now: datetime | None = None) -> bool | None:
        """True when it was unread, False when already read, None when it is not this recipient's item."""
        result = await self.collection.update_one(
            {"_id": item_id, "recipient.kind": kind, "recipient.id": recipient_id, "unread": True},
            {"$set": {"unread": False, "read_at": bson_time(now)}},
        )
        if result.modified_count:
            return True
        exists = await self.collection.count_documents(
            {"_id": item_id, "recipient.kind": kind, "recipient.id": recipient_id}, limit=1)
        return False if exists else None

    async def mark_all_read(self, kind: str, recipient_id: str, *, now: datetime | None = None) -> int:
        result = await self.collection.update_many(
            {"recipient.kind": kind, "recipient.id": recipient_id, "unread": True},
            {"$set": {"unread": False, "read_at": bson_time(now)}},
        )
        return result.modified_count
