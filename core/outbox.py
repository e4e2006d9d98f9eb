"""The transactional outbox: domain events written in the same MongoDB transaction as the state change they tell.

If the process dies right after a case is accepted, the acceptance and its "case.accepted" event are either both
stored or both absent — no notification is lost and none is invented. A relay (notifications/) reads pending
events, hands them to Celery and marks them dispatched; a crash between the two re-dispatches, so consumers
deduplicate by `event id × recipient × channel`.

An event says *what happened and to whom it matters*, never how to phrase it: `topic` picks the template,
`data` fills its placeholders (already masked: no full ID or phone numbers), `recipients` name people or staff by
id and the pipeline resolves their channels. `key` makes recording idempotent when the domain code itself retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from core.clock import bson_time
from core.ids import new_id
from core.masking import mask_value
from core.mongo import Repository

# "department": every staff member of that department (code) holding the staff role whose region contains
# the event's `data.region_code` -- e.g. a new task in the department's inbox.
# "region_supervisors": every supervisor (电子监察) whose region contains the region code given as id.
RecipientKind = Literal["person", "staff", "department", "region_supervisors"]


@dataclass(frozen=True, slots=True)
class Recipient:
    kind: RecipientKind
    id: str

    def as_doc(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id}


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One thing that happened. `urgent` events ignore quiet hours (login codes, overdue alerts to staff)."""

    topic: str                      # e.g. "case.accepted", "task.overdue", "bill.published"
    key: str                        # unique per real-world occurrence, e.g. "case:<id>:event:<seq>"
    recipients: tuple[Recipient, ...]
    data: dict[str, Any] = field(default_factory=dict)
    subject: dict[str, str] = field(default_factory=dict)   # e.g. {"kind": "case", "id": "01J…"}
    urgent: bool = False


class OutboxRepository(Repository):
    collection_name = "outbox"
    indexes = (
        IndexModel([("key", ASCENDING)], unique=True, name="key_unique"),
        IndexModel([("state", ASCENDING), ("_id", ASCENDING)], name="pending_in_order",
                   partialFilterExpression={"state": "pending"}),
        IndexModel([("subject.kind", ASCENDING), ("subject.id", ASCENDING)], name="by_subject"),
        IndexModel([("dispatched_at", ASCENDING)], name="dispatched_unsettled",
                   partialFilterExpression={"state": "dispatched"}),
    )

    async def add(self, event: OutboxEvent, *, session: AsyncClientSession | None = None,
                  now: datetime | None = None) -> str | None:
        """Record the event (inside the caller's transaction when `session` is given).

        Returns its id, or None when an event with the same key was already recorded. Outside a transaction a
        duplicate key is simply a retry; inside one, MongoDB aborts the transaction on a duplicate, so callers
        that may repeat build keys from state they change in the same transaction (e.g. the case's event seq).
        """
        doc = {
            "_id": new_id(), "topic": event.topic, "key": event.key,
            "recipients": [r.as_doc() for r in event.recipients], "data": mask_value(event.data),
            "subject": dict(event.subject), "urgent": event.urgent,
            "created_at": bson_time(now), "state": "pending", "dispatched_at": None, "attempts": 0,
        }
        try:
            await self.collection.insert_one(doc, session=session)
        except DuplicateKeyError:
            if session is not None and session.in_transaction:
                raise
            return None
        return doc["_id"]

    async def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        cursor = self.collection.find({"state": "pending"}).sort("_id", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def mark_dispatched(self, event_ids: list[str], *, now: datetime | None = None) -> int:
        result = await self.collection.update_many(
            {"_id": {"$in": event_ids}, "state": "pending"},
            {"$set": {"state": "dispatched", "dispatched_at": bson_time(now)}, "$inc": {"attempts": 1}},
        )
        return result.modified_count

    async def watch_new(self) -> Any:
        """A change stream of newly recorded events (the relay's doorbell; `pending` stays the source of truth)."""
        return await self.collection.watch([{"$match": {"operationType": "insert"}}], max_await_time_ms=1000)

    async def for_subject(self, kind: str, subject_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"subject.kind": kind, "subject.id": subject_id}).sort("_id", ASCENDING)
        return [doc async for doc in cursor]

    # -- settling dispatched events (notifications/sweeps.py) ------------------------------------------------
    # A dispatched event is settled by the sweep: `processed` once its messages exist, back to `pending` when
    # none appeared in time (the task was lost: a worker killed, Redis restarted without persistence).
    async def get(self, event_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": event_id})

    async def unsettled(self, *, dispatched_before: datetime, limit: int = 1000) -> list[dict[str, Any]]:
        cursor = self.collection.find(
            {"state": "dispatched", "dispatched_at": {"$lt": bson_time(dispatched_before)}},
            {"_id": 1, "recipients": 1},
        ).sort("dispatched_at", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def settle(self, *, processed: list[str], lost: list[str], now: datetime | None = None) -> None:
        if processed:
            await self.collection.update_many({"_id": {"$in": processed}, "state": "dispatched"},
                                              {"$set": {"state": "processed", "processed_at": bson_time(now)}})
        if lost:
            await self.collection.update_many({"_id": {"$in": lost}, "state": "dispatched"},
                                              {"$set": {"state": "pending", "dispatched_at": None}})

    async def count_by_state(self) -> dict[str, int]:
        pipeline = [{"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        return {doc["_id"]: doc["n"] async for doc in await self.collection.aggregate(pipeline)}
