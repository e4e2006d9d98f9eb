"""Account events: what happened to a person's account (bindings, suspicious attempts, logins elsewhere).

An append-only record per person. It is the audit trail of the account; the types in NOTIFY are also told to the
person (e.g. "someone tried to bind your ID number") through the outbox and the notification pipeline. Details
hold masked values only.
"""

from __future__ import annotations

from typing import Any

from pymongo import DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from core.clock import bson_time
from core.ids import new_id
from core.masking import mask_value
from core.mongo import Repository
from core.outbox import OutboxEvent, OutboxRepository, Recipient


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
        """Append the event. A NOTIFY type also records its notification in the outbox (core/outbox.py), in the
        same transaction: the person is told exactly when the event is kept, never about one that was not."""
        event_id, now = new_id(), bson_time()
        doc = {"_id": event_id, "person_id": person_id, "type": type_, "details": mask_value(details),
               "at": now, "notify": type_ in self.NOTIFY, "notified_at": None}
        if type_ not in self.NOTIFY:
            await self.collection.insert_one(doc)
            return event_id
        notice = OutboxEvent(
            topic=f"account.{type_}", key=f"account_event:{event_id}", recipients=(Recipient("person", person_id),),
            data={"at": now.isoformat(), **({"masked": details["masked"]} if details.get("masked") else {})},
            subject={"kind": "account_event", "id": event_id},
        )
        outbox = OutboxRepository(self.db)

        async def both(session: AsyncClientSession) -> None:
            await self.collection.insert_one(doc, session=session)
            await outbox.add(notice, session=session, now=now)

        async with self.db.client.start_session() as session:
            await session.with_transaction(both)
        return event_id

    async def recent(self, person_id: str, limit: int = 50) -> list[dict[str, Any]]:
        cursor = self.collection.find({"person_id": person_id}).sort("_id", DESCENDING).limit(limit)
        return [doc async for doc in cursor]
