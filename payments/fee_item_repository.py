"""Storage of fee items (`fee_items`), including the state of their bill generation.

Every change a person makes is conditional on the `revision` they read (`update`): two people editing or
reviewing at once never overwrite each other; the second gets 409. The bill generator's bookkeeping
(`bills.*`) does not move the revision, so a reviewer's or the school's next step is not refused because bills
were being written meanwhile; it still writes the item document in each batch's transaction, so a withdrawal
and a batch of bills conflict in MongoDB and one of them runs again on the new state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from core.clock import bson_time
from core.mongo import Repository

Session = AsyncClientSession | None
GENERATION_LEASE = timedelta(minutes=10)


class FeeItemRepository(Repository):
    collection_name = "fee_items"
    indexes = (
        IndexModel([("school_id", ASCENDING), ("_id", DESCENDING)], name="school_recent"),
        IndexModel([("reviews.education.department_code", ASCENDING), ("state", ASCENDING)], name="education_inbox"),
        IndexModel([("reviews.price.department_code", ASCENDING), ("state", ASCENDING)], name="price_inbox"),
        IndexModel([("bills.state", ASCENDING), ("bills.requested_at", ASCENDING)], name="bills_pending",
                   partialFilterExpression={"bills.state": {"$in": ["pending", "running"]}}),
    )

    async def insert(self, doc: dict[str, Any], *, session: Session = None) -> None:
        await self.collection.insert_one(doc, session=session)

    async def get(self, item_id: str, *, session: Session = None) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": item_id}, session=session)

    async def update(self, item_id: str, revision: int, changes: dict[str, Any], *, session: Session = None,
                     push: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Apply `changes` if the item is still at `revision`; the new document, or None when it moved on."""
        update: dict[str, Any] = {"$set": {**changes, "updated_at": bson_time()}, "$inc": {"revision": 1}}
        if push:
            update["$push"] = push
        return await self.collection.find_one_and_update(
            {"_id": item_id, "revision": revision}, update, session=session, return_document=ReturnDocument.AFTER)

    async def of_school(self, school_id: str, *, states: list[str] | None = None, before: str | None = None,
                        limit: int = 50) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"school_id": school_id}
        if states:
            query["state"] = {"$in": states}
        if before:
            query["_id"] = {"$lt": before}
        cursor = self.collection.find(query).sort("_id", DESCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def awaiting(self, side: str, department_code: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Items under review whose `side` (education or price) is this department and has not decided yet."""
        cursor = self.collection.find({f"reviews.{side}.department_code": department_code, "state": "under_review",
                                       f"reviews.{side}.decision": "pending"}).sort("_id", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def published_ids(self, school_id: str) -> list[str]:
        cursor = self.collection.find({"school_id": school_id, "state": "published"}, {"_id": 1})
        return [doc["_id"] async for doc in cursor]

    # -- bill generation bookkeeping (payments/bill_generation.py) -----------------------------------------------
    async def request_bills(self, item_id: str) -> bool:
        """Ask for (another) generation run of a published item: idle/done → pending. False when one is already
        pending or running (it will see the same students), or the item is not published."""
        result = await self.collection.update_one(
            {"_id": item_id, "state": "published", "bills.state": {"$nin": ["pending", "running"]}},
            {"$set": {"bills.state": "pending", "bills.requested_at": bson_time()}})
        return result.modified_count == 1

    async def claim_bills(self, item_id: str) -> dict[str, Any] | None:
        """pending → running for this worker (or running with a silent worker past the lease)."""
        now = bson_time()
        return await self.collection.find_one_and_update(
            {"_id": item_id, "$or": [{"bills.state": "pending"},
                                     {"bills.state": "running", "bills.heartbeat_at": {"$lt": now - GENERATION_LEASE}}]},
            {"$set": {"bills.state": "running", "bills.heartbeat_at": now}, "$inc": {"bills.attempts": 1}},
            return_document=ReturnDocument.AFTER)

    async def bills_written(self, item_id: str, count: int, *, session: Session = None) -> None:
        await self.collection.update_one(
            {"_id": item_id}, {"$inc": {"bills.generated": count}, "$set": {"bills.heartbeat_at": bson_time()}},
            session=session)

    async def finish_bills(self, item_id: str, state: str) -> None:
        await self.collection.update_one({"_id": item_id, "bills.state": "running"},
                                         {"$set": {"bills.state": state, "bills.finished_at": bson_time()}})

    async def stale_requests(self, older_than: timedelta, *, limit: int = 100) -> list[str]:
        """Items whose generation was asked for long ago and never claimed (the task was lost), or whose worker
        went silent past the lease: the beat sweep queues them again."""
        now = bson_time()
        cursor = self.collection.find({"$or": [
            {"bills.state": "pending", "bills.requested_at": {"$lt": now - older_than}},
            {"bills.state": "running", "bills.heartbeat_at": {"$lt": now - GENERATION_LEASE}},
        ]}, {"_id": 1}).limit(limit)
        return [doc["_id"] async for doc in cursor]
