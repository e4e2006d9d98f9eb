"""Notification messages: one document per event × recipient × channel, and every change of its delivery state.

The unique `dedup` key (`<event id>:<recipient kind>:<recipient id>:<channel>`) is what makes the pipeline
idempotent: an event dispatched twice, a task delivered twice or a worker that dies and is replaced can only
meet the message already recorded, never make a second one. Sending is guarded by a claim: `created` (or a
`sending` whose lease ran out) → `sending` in one atomic update, so exactly one worker sends at a time.
Every transition is filtered on the state it leaves, so a late writer (a slow worker, a report that arrives
before the worker recorded `sent`) never moves a message backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne

from core.clock import bson_time
from core.ids import new_id
from core.mongo import Repository, insert_new
from notifications.states import FAILURES, REPORTABLE, State

HISTORY_KEPT = 20


def dedup_key(event_id: str, kind: str, recipient_id: str, channel: str) -> str:
    return f"{event_id}:{kind}:{recipient_id}:{channel}"


def _step(state: State, moment: datetime, reason: str | None = None) -> dict[str, Any]:
    return {"$each": [{"state": state.value, "at": moment, **({"reason": reason} if reason else {})}],
            "$slice": -HISTORY_KEPT}


class MessageRepository(Repository):
    collection_name = "notification_messages"
    indexes = (
        IndexModel([("dedup", ASCENDING)], unique=True, name="dedup_unique"),
        IndexModel([("event_id", ASCENDING), ("state", ASCENDING)], name="by_event"),
        IndexModel([("due_at", ASCENDING)], name="created_due", partialFilterExpression={"state": "created"}),
        IndexModel([("lease_until", ASCENDING)], name="sending_lease", partialFilterExpression={"state": "sending"}),
        IndexModel([("sent_at", ASCENDING)], name="sent_unconfirmed", partialFilterExpression={"state": "sent"}),
        IndexModel([("provider_ref", ASCENDING)], name="provider_ref",
                   partialFilterExpression={"provider_ref": {"$type": "string"}}),
        # Only failed messages: the failure report reads them, and a message changing state on its way to `sent`
        # or `delivered` (nearly all of them) never touches this index.
        IndexModel([("state", ASCENDING), ("channel", ASCENDING)], name="failed_by_channel",
                   partialFilterExpression={"state": {"$in": sorted(s.value for s in FAILURES)}}),
    )

    async def insert_new(self, docs: list[dict[str, Any]]) -> set[str]:
        """Record messages; returns the ids actually inserted (a duplicate dedup key keeps the first one)."""
        return {docs[i]["_id"] for i in await insert_new(self.collection, docs)}

    async def get(self, message_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": message_id})

    async def by_dedup(self, key: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"dedup": key})

    async def for_event(self, event_id: str) -> list[dict[str, Any]]:
        return [doc async for doc in self.collection.find({"event_id": event_id}).sort("_id", ASCENDING)]

    async def for_events(self, event_ids: list[str]) -> list[dict[str, Any]]:
        return [doc async for doc in self.collection.find({"event_id": {"$in": event_ids}})]

    async def events_with_messages(self, event_ids: list[str]) -> set[str]:
        return set(await self.collection.distinct("event_id", {"event_id": {"$in": event_ids}}))

    async def sendable_of_event(self, event_id: str, now: datetime) -> list[str]:
        """Ids of the event's messages waiting to be sent now (after a crash or a second dispatch)."""
        # Two queries rather than one `$or`: SecantusDB reads the whole collection for a top-level operator.
        waiting = {"event_id": event_id, "state": State.CREATED.value, "due_at": {"$lte": now}}
        expired = {"event_id": event_id, "state": State.SENDING.value, "lease_until": {"$lt": now}}
        return [doc["_id"] for query in (waiting, expired) async for doc in self.collection.find(query, {"_id": 1})]

    # -- the claim and the send's outcome --------------------------------------------------------------------
    async def claim(self, message_id: str, *, now: datetime, lease_s: float) -> dict[str, Any] | None:
        """Take the message for sending: it was waiting and due, or its last sender's lease ran out. None when
        another worker has it, it is not due yet, or it is already past sending."""
        claimed = await self.claim_many([message_id], now=now, lease_s=lease_s)
        return claimed[0] if claimed else None

    async def claim_many(self, message_ids: list[str], *, now: datetime, lease_s: float) -> list[dict[str, Any]]:
        """Claim every message of `message_ids` that is waiting and due, or whose sender's lease ran out, in two
        updates and one read; returns the claimed documents (what another worker holds or has finished is left).

        Each update is atomic per document and filtered on the state it leaves, so two workers never hold one
        message: a claim token marks which documents this call took. The two cases are two updates rather than
        one `$or`: SecantusDB answers a filter with a top-level operator by reading the whole collection, which
        made every claim cost a scan of all messages (a second per claim at 20,000 messages)."""
        if not message_ids:
            return []
        moment = bson_time(now)
        token = new_id()
        update = {"$set": {"state": State.SENDING.value, "lease_until": moment + timedelta(seconds=lease_s),
                           "sending_at": moment, "updated_at": moment, "queued_at": None, "claim": token},
                  "$inc": {"attempts": 1}, "$push": {"history": _step(State.SENDING, moment)}}
        waiting = await self.collection.update_many(
            {"_id": {"$in": message_ids}, "state": State.CREATED.value, "due_at": {"$lte": moment}}, update)
        expired = await self.collection.update_many(
            {"_id": {"$in": message_ids}, "state": State.SENDING.value, "lease_until": {"$lt": moment}}, update)
        if not waiting.modified_count and not expired.modified_count:
            return []
        order = {message_id: n for n, message_id in enumerate(message_ids)}
        docs = [doc async for doc in self.collection.find({"_id": {"$in": message_ids}, "claim": token})]
        return sorted(docs, key=lambda doc: order[doc["_id"]])

    async def record_sent(self, accepted: list[tuple[str, str, str, bool]], *, now: datetime) -> None:
        """The provider accepted these (message id, provider, provider_ref, delivered): `sent` (an SMS awaits its
        report) or `delivered` (WeChat answers for it), in one bulk write. A message a delivery report reached
        first keeps the report's verdict and gets what we know added (provider, reference, sent time)."""
        if not accepted:
            return
        moment = bson_time(now)
        writes = []
        for message_id, provider, provider_ref, delivered in accepted:
            state = State.DELIVERED if delivered else State.SENT
            fields: dict[str, Any] = {"state": state.value, "provider": provider, "provider_ref": provider_ref,
                                      "sent_at": moment, "updated_at": moment, "lease_until": None,
                                      "reason": None, "detail": None}
            if delivered:
                fields["delivered_at"] = moment
            writes.append(UpdateOne({"_id": message_id, "state": State.SENDING.value},
                                    {"$set": fields, "$push": {"history": _step(state, moment)}}))
        result = await self.collection.bulk_write(writes, ordered=False)
        if result.modified_count == len(writes):
            return
        by_id = {message_id: (provider, ref) for message_id, provider, ref, _ in accepted}
        overtaken = [doc["_id"] async for doc in self.collection.find(
            {"_id": {"$in": list(by_id)}, "provider_ref": None}, {"_id": 1})]
        if overtaken:
            await self.collection.bulk_write([UpdateOne(
                {"_id": message_id, "provider_ref": None},
                {"$set": {"provider": by_id[message_id][0], "provider_ref": by_id[message_id][1], "sent_at": moment}})
                for message_id in overtaken], ordered=False)

    async def record_retry(self, message_id: str, *, due_at: datetime, reason: str, code: str, detail: str,
                           now: datetime) -> bool:
        """A transient failure: back to `created`, due again at `due_at` (the backoff)."""
        moment = bson_time(now)
        result = await self.collection.update_one(
            {"_id": message_id, "state": State.SENDING.value},
            {"$set": {"state": State.CREATED.value, "due_at": bson_time(due_at), "reason": reason,
                      "provider_code": code, "detail": detail[:300], "lease_until": None, "updated_at": moment,
                      "queued_at": moment},
             "$push": {"history": _step(State.CREATED, moment, reason)}},
        )
        return result.modified_count == 1

    async def record_failure(self, message_id: str, state: State, *, reason: str, code: str = "", detail: str = "",
                             provider: str | None = None, now: datetime) -> bool:
        moment = bson_time(now)
        fields: dict[str, Any] = {"state": state.value, "reason": reason, "provider_code": code,
                                  "detail": detail[:300], "failed_at": moment, "updated_at": moment,
                                  "lease_until": None}
        if provider:
            fields["provider"] = provider
        result = await self.collection.update_one(
            {"_id": message_id, "state": State.SENDING.value},
            {"$set": fields, "$push": {"history": _step(state, moment, reason)}},
        )
        return result.modified_count == 1

    async def set_grant_taken(self, message_id: str) -> None:
        await self.collection.update_one({"_id": message_id}, {"$set": {"grant_taken": True}})

    # -- provider status reports -----------------------------------------------------------------------------
    async def apply_reports(self, reports: Iterable[dict[str, Any]], *, now: datetime) -> int:
        """Each report `{ref, message_id?, state, code, at}` moves a sending/sent message to its final state.
        Matched on the provider's id of the send (and our id when the provider echoes it back); a report for
        a message already final changes nothing (providers resend reports)."""
        moment = bson_time(now)
        ops = []
        for report in reports:
            query: dict[str, Any] = {"provider_ref": report["ref"], "state": {"$in": [s.value for s in REPORTABLE]}}
            if report.get("message_id"):
                query = {"_id": report["message_id"], "state": query["state"],
                         "provider_ref": {"$in": [report["ref"], None]}}
            state = State(report["state"])
            fields: dict[str, Any] = {"state": state.value, "report_code": report.get("code", ""),
                                      "reported_at": report.get("at") or moment, "updated_at": moment,
                                      "lease_until": None}
            if state is State.DELIVERED:
                fields["delivered_at"] = report.get("at") or moment
            else:
                fields.update(reason=report.get("reason"), failed_at=moment)
            ops.append(UpdateOne(query, {"$set": fields, "$push": {"history": _step(state, moment,
                                                                                   fields.get("reason"))}}))
        if not ops:
            return 0
        result = await self.collection.bulk_write(ops, ordered=False)
        return result.modified_count

    # -- sweeps ----------------------------------------------------------------------------------------------
    async def due_unqueued(self, *, now: datetime, requeue_before: datetime, limit: int) -> list[dict[str, Any]]:
        """Waiting messages that are due and have no live task: released by quiet hours, or whose task was
        lost (a worker killed, Redis restarted without persistence)."""
        # The queued_at condition is applied here, not as a `$or` (SecantusDB would read the whole collection).
        query = {"state": State.CREATED.value, "due_at": {"$lte": bson_time(now)}}
        cursor = self.collection.find(query, {"_id": 1, "queue": 1, "queued_at": 1}).sort("due_at", ASCENDING)
        before = bson_time(requeue_before)
        due = [doc async for doc in cursor if doc.get("queued_at") is None or doc["queued_at"] <= before]
        return [{"_id": doc["_id"], "queue": doc.get("queue")} for doc in due[:limit]]

    async def stale_sending(self, *, now: datetime, limit: int) -> list[dict[str, Any]]:
        cursor = self.collection.find({"state": State.SENDING.value, "lease_until": {"$lt": bson_time(now)}},
                                      {"_id": 1, "queue": 1}).limit(limit)
        return [doc async for doc in cursor]

    async def mark_queued(self, message_ids: list[str], *, now: datetime) -> None:
        if message_ids:
            await self.collection.update_many({"_id": {"$in": message_ids}, "state": State.CREATED.value},
                                              {"$set": {"queued_at": bson_time(now)}})

    async def time_out_unconfirmed(self, *, sent_before: datetime, now: datetime, reason: str) -> int:
        """Sent long ago and never confirmed by a report: temporary-failure (Notify's 72-hour rule)."""
        moment = bson_time(now)
        result = await self.collection.update_many(
            {"state": State.SENT.value, "sent_at": {"$lt": bson_time(sent_before)}},
            {"$set": {"state": State.TEMPORARY_FAILURE.value, "reason": reason, "failed_at": moment,
                      "updated_at": moment},
             "$push": {"history": _step(State.TEMPORARY_FAILURE, moment, reason)}},
        )
        return result.modified_count

    # -- operations ------------------------------------------------------------------------------------------
    async def state_counts(self) -> list[dict[str, Any]]:
        """`[{state, channel, count}]` over every message."""
        pipeline = [{"$group": {"_id": {"state": "$state", "channel": "$channel"}, "n": {"$sum": 1}}}]
        return [{"state": d["_id"]["state"], "channel": d["_id"]["channel"], "count": d["n"]}
                async for d in await self.collection.aggregate(pipeline)]

    async def failure_reasons(self, limit: int = 50) -> list[dict[str, Any]]:
        """`[{state, channel, reason, provider_code, count}]` of failed messages, most frequent first."""
        pipeline = [
            {"$match": {"state": {"$in": [s.value for s in FAILURES]}}},
            {"$group": {"_id": {"state": "$state", "channel": "$channel", "reason": "$reason",
                                "code": "$provider_code"}, "n": {"$sum": 1}}},
            {"$sort": {"n": -1}}, {"$limit": limit},
        ]
        return [{"state": d["_id"]["state"], "channel": d["_id"]["channel"], "reason": d["_id"].get("reason"),
                 "provider_code": d["_id"].get("code") or None, "count": d["n"]}
                async for d in await self.collection.aggregate(pipeline)]
