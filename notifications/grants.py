"""Subscribe-message grants: what the person allowed in the mini-program with `wx.requestSubscribeMessage`.

WeChat lets an app send a subscribe message only against a grant: each one-time "accept" allows one message,
and grants accumulate; templates of a long-term category (government affairs) keep allowing once accepted.
WeChat does not tell the server about grants, so the mini-program reports the result it got per template id
(accept / reject / ban / filter) and we count. A send takes one grant atomically first, so two workers can
never spend the same grant; a retry of the same message does not spend a second one, and WeChat's own 43101
("no grant") empties our count, since WeChat is the authority.
"""

from __future__ import annotations

from typing import Any, Literal

from pymongo import IndexModel, ReturnDocument

from core.clock import bson_time
from core.mongo import Repository

GrantResult = Literal["accept", "reject", "ban", "filter"]
MAX_ONE_TIME = 100  # accumulated one-time grants we believe in; WeChat's own cap is undocumented


def grant_id(kind: str, recipient_id: str, template_id: str) -> str:
    return f"{kind}:{recipient_id}:{template_id}"


class GrantRepository(Repository):
    collection_name = "notification_grants"
    indexes = (IndexModel([("recipient.kind", 1), ("recipient.id", 1)], name="by_recipient"),)

    async def report(self, kind: str, recipient_id: str, template_id: str, result: GrantResult, *,
                     long_term: bool) -> dict[str, Any]:
        """Record one answer of the subscription dialog; returns the grant as it now stands."""
        now = bson_time()
        key = grant_id(kind, recipient_id, template_id)
        base = {"recipient": {"kind": kind, "id": recipient_id}, "template_id": template_id, "updated_at": now}
        if result == "accept":
            update: dict[str, Any] = {"$set": {**base, "long_term": long_term, "banned": False},
                                      "$inc": {"available": 1, "accepted_total": 1}}
        elif result == "ban":  # the person blocked this template: nothing may be sent until they accept again
            update = {"$set": {**base, "available": 0, "banned": True, "long_term": long_term}}
        else:  # reject / filter: this request gave nothing; earlier grants stay
            update = {"$set": base, "$setOnInsert": {"available": 0, "banned": False, "long_term": long_term}}
        doc = await self.collection.find_one_and_update({"_id": key}, update, upsert=True,
                                                        return_document=ReturnDocument.AFTER)
        if doc["available"] > MAX_ONE_TIME:
            await self.collection.update_one({"_id": key}, {"$min": {"available": MAX_ONE_TIME}})
            doc["available"] = MAX_ONE_TIME
        return doc

    async def take(self, kind: str, recipient_id: str, template_id: str) -> bool:
        """Spend one grant for a send (a long-term grant is not spent). False: nothing to spend."""
        key = grant_id(kind, recipient_id, template_id)
        doc = await self.collection.find_one_and_update(
            {"_id": key, "banned": False, "$or": [{"long_term": True, "accepted_total": {"$gt": 0}},
                                                 {"available": {"$gt": 0}}]},
            {"$inc": {"spent_total": 1}}, return_document=ReturnDocument.BEFORE,
        )
        if doc is None:
            return False
        if doc.get("long_term") and doc.get("accepted_total", 0) > 0:
            return True
        spent = await self.collection.update_one({"_id": key, "available": {"$gt": 0}},
                                                 {"$inc": {"available": -1}})
        return spent.modified_count == 1

    async def exhausted(self, kind: str, recipient_id: str, template_id: str) -> None:
        """WeChat says there is no grant (43101): believe it, whatever we counted."""
        await self.collection.update_one({"_id": grant_id(kind, recipient_id, template_id)},
                                         {"$set": {"available": 0, "accepted_total": 0, "updated_at": bson_time()}})

    async def of(self, kind: str, recipient_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"recipient.kind": kind, "recipient.id": recipient_id}).sort("template_id", 1)
        return [doc async for doc in cursor]
