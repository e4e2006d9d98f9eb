"""Payment orders (`payment_orders`): one per (bill, attempt), the thing a provider is asked to collect.

    created ──prepay ok──▶ paying ──money arrived──▶ paid
       │                     ├──expired / closed at the provider──▶ closed
       └──provider refused──▶ failed ◀──provider says PAYERROR──┘

- `created` is written BEFORE the provider is called, so a crash or a timeout never leaves a trade at the
  provider we know nothing of: the sweep (payments/order_sweep.py) queries and settles or closes it.
- The order id is the `out_trade_no` at both providers (a ULID: 26 of [0-9A-Z], inside WeChat Pay's 6–32
  characters and Alipay's 64).
- `paid`, `closed` and `failed` are final. A bill is paid at most once: the partial UNIQUE index
  `bill_paid_once` (bill_id where state = paid) makes a second paid order of one bill impossible in the
  database, whatever the code does; `Bills.mark_paid` in the same transaction is the second guard.
- Money that arrives for an order that cannot be paid (closed, failed, or its bill already paid or cancelled)
  is recorded on the order (`payment`, `late: true`) with a `refund` sub-document that the refunder
  (payments/order_refunds.py) carries through: requested → processing → refunded | failed. A failed one that
  school finance tries again (payments/late_refunds.py) is replaced by its next attempt under a new number,
  the failed one kept in `refund_attempts`.
- Money is integer fen; `amount_fen` is copied from the bill when the order is made and never changes.
- Refunds that school finance asks for (payments/refunds.py) live in their own collection; a paid order only
  counts them: `refund_reserved_fen` (requested, approved, in flight or done; never above `amount_fen`, by a
  conditional update) and `refunded_fen` (done). The order stays `paid`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from core.mongo import Repository

Session = AsyncClientSession | None


class OrderState(StrEnum):
    CREATED = "created"
    PAYING = "paying"
    PAID = "paid"
    CLOSED = "closed"
    FAILED = "failed"


class Channel(StrEnum):
    WECHATPAY = "wechatpay"
    ALIPAY = "alipay"


class RefundState(StrEnum):
    REQUESTED = "requested"    # decided, not yet accepted by the provider (the sweep retries)
    PROCESSING = "processing"  # accepted by the provider, settled by its refund callback or a query
    REFUNDED = "refunded"
    FAILED = "failed"          # the provider refused or gave up: a person must look (logged as an error)


OPEN = (OrderState.CREATED.value, OrderState.PAYING.value)
FINAL = (OrderState.PAID.value, OrderState.CLOSED.value, OrderState.FAILED.value)
STATE_LABELS = {OrderState.CREATED: "待支付", OrderState.PAYING: "支付中", OrderState.PAID: "已支付",
                OrderState.CLOSED: "已关闭", OrderState.FAILED: "支付失败"}
TRANSITIONS: dict[OrderState, tuple[OrderState, ...]] = {
    OrderState.CREATED: (OrderState.PAYING, OrderState.PAID, OrderState.CLOSED, OrderState.FAILED),
    OrderState.PAYING: (OrderState.PAID, OrderState.CLOSED, OrderState.FAILED),
    OrderState.PAID: (), OrderState.CLOSED: (), OrderState.FAILED: (),
}


def can_move(current: str, to: OrderState) -> bool:
    return to in TRANSITIONS[OrderState(current)]


def description_of(bill: dict[str, Any], limit_bytes: int = 127) -> str:
    """What the payer's WeChat / Alipay bill shows: the fee item and the school (no student name)."""
    text = f"{bill['item']['name']}-{bill['school_name']}"
    while len(text.encode()) > limit_bytes:
        text = text[:-1]
    return text


def new_order(*, order_id: str, bill: dict[str, Any], person_id: str, channel: Channel, mode: str, appid: str,
              attempt: int, now: datetime, ttl: timedelta) -> dict[str, Any]:
    return {
        "_id": order_id, "out_trade_no": order_id, "bill_id": bill["_id"], "attempt": attempt,
        "fee_item_id": bill["fee_item_id"], "student_id": bill["student_id"], "school_id": bill["school_id"],
        "region_code": bill["region_code"], "person_id": person_id, "amount_fen": bill["amount_fen"],
        "description": description_of(bill), "channel": channel.value, "mode": mode, "appid": appid,
        "state": OrderState.CREATED.value, "version": 0, "created_at": now, "updated_at": now,
        "expires_at": now + ttl, "provider": {}, "payment": None, "late": False, "closed_at": None,
        "closed_reason": None, "failed_reason": None, "refund": None,
    }


class OrderRepository(Repository):
    collection_name = "payment_orders"
    indexes = (
        IndexModel([("bill_id", ASCENDING), ("attempt", ASCENDING)], unique=True, name="bill_attempt_unique"),
        IndexModel([("bill_id", ASCENDING)], unique=True, name="bill_paid_once",
                   partialFilterExpression={"state": OrderState.PAID.value}),
        IndexModel([("state", ASCENDING), ("created_at", ASCENDING)], name="state_age"),
        IndexModel([("refund.state", ASCENDING)], name="refund_state"),
        IndexModel([("person_id", ASCENDING), ("_id", DESCENDING)], name="payer_recent"),
        IndexModel([("school_id", ASCENDING), ("_id", DESCENDING)], name="school_late",
                   partialFilterExpression={"late": True}),
    )

    async def get(self, order_id: str, *, session: Session = None) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": order_id}, session=session)

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.collection.insert_one(doc)

    async def attempts_of(self, bill_id: str) -> int:
        return await self.collection.count_documents({"bill_id": bill_id})

    async def open_of_payer(self, bill_id: str, person_id: str) -> list[dict[str, Any]]:
        """The person's orders of the bill still created/paying (a new attempt closes them first)."""
        cursor = self.collection.find({"bill_id": bill_id, "person_id": person_id, "state": {"$in": list(OPEN)}})
        return [doc async for doc in cursor]

    async def of_bill(self, bill_id: str) -> list[dict[str, Any]]:
        return [doc async for doc in self.collection.find({"bill_id": bill_id}).sort("attempt", ASCENDING)]

    async def transition(self, order_id: str, from_states: tuple[str, ...], to: OrderState, changes: dict[str, Any],
                         *, session: Session = None, unpaid_only: bool = False) -> dict[str, Any] | None:
        """from_states → `to` with `changes`, atomically; the new order, or None when it is in another state
        (or, `unpaid_only`, when money is already recorded on it)."""
        allowed = tuple(s for s in from_states if can_move(s, to))
        query: dict[str, Any] = {"_id": order_id, "state": {"$in": list(allowed)}}
        if unpaid_only:
            query["payment"] = None
        return await self.collection.find_one_and_update(
            query,
            {"$set": {**changes, "state": to.value}, "$inc": {"version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def record_late(self, order_id: str, version: int, changes: dict[str, Any], *,
                          session: Session = None) -> dict[str, Any] | None:
        """Record money that arrived for an order that cannot be paid (no payment recorded yet, same version)."""
        return await self.collection.find_one_and_update(
            {"_id": order_id, "version": version, "payment": None},
            {"$set": changes, "$inc": {"version": 1}}, session=session, return_document=ReturnDocument.AFTER)

    async def set_refund(self, order_id: str, from_state: RefundState, changes: dict[str, Any], *,
                         session: Session = None) -> dict[str, Any] | None:
        """Move the order's refund on from `from_state` (`changes` are `refund.*` fields); None if it moved."""
        return await self.collection.find_one_and_update(
            {"_id": order_id, "refund.state": from_state.value}, {"$set": changes, "$inc": {"version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def retry_refund(self, order_id: str, version: int, refund: dict[str, Any], *,
                           session: Session = None) -> dict[str, Any] | None:
        """Replace a failed refund of late money by its next attempt (the failed one kept in `refund_attempts`),
        if the order is still at `version`; the order after, or None when it changed meanwhile."""
        order = await self.collection.find_one({"_id": order_id, "version": version}, {"refund": 1}, session=session)
        if order is None:
            return None
        return await self.collection.find_one_and_update(
            {"_id": order_id, "version": version},
            {"$set": {"refund": refund}, "$push": {"refund_attempts": order["refund"]}, "$inc": {"version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def late_of_school(self, school_id: str, *, refund_states: list[str] | None = None,
                             limit: int = 200) -> list[dict[str, Any]]:
        """The school's orders with late money (their automatic refunds), newest first."""
        query: dict[str, Any] = {"school_id": school_id, "late": True}
        if refund_states:
            query["refund.state"] = {"$in": refund_states}
        return [doc async for doc in self.collection.find(query).sort("_id", DESCENDING).limit(limit)]

    async def reserve_refund(self, order_id: str, amount_fen: int, *, session: Session = None) -> dict[str, Any] | None:
        """Count a refund request against a paid order unless the refunds would then exceed what was paid (one
        conditional write: concurrent requests cannot over-reserve); the order after, or None when refused."""
        order = await self.collection.find_one({"_id": order_id}, {"amount_fen": 1}, session=session)
        limit = order["amount_fen"] - amount_fen if order is not None else -1
        if limit < 0:
            return None
        return await self.collection.find_one_and_update(
            {"_id": order_id, "state": OrderState.PAID.value,
             "$or": [{"refund_reserved_fen": {"$exists": False}}, {"refund_reserved_fen": {"$lte": limit}}]},
            {"$inc": {"refund_reserved_fen": amount_fen, "version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def count_refund(self, order_id: str, *, reserved_fen: int = 0, refunded_fen: int = 0,
                           session: Session = None) -> dict[str, Any] | None:
        """Release a rejected or failed refund (`reserved_fen` < 0) or record a finished one (`refunded_fen`)."""
        return await self.collection.find_one_and_update(
            {"_id": order_id}, {"$inc": {"refund_reserved_fen": reserved_fen, "refunded_fen": refunded_fen,
                                         "version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def open_before(self, created_before: datetime, limit: int) -> list[dict[str, Any]]:
        """Orders still created/paying that were made before `created_before`, oldest first (the sweep)."""
        cursor = self.collection.find({"state": {"$in": list(OPEN)}, "created_at": {"$lt": created_before}})
        return [doc async for doc in cursor.sort("created_at", ASCENDING).limit(limit)]

    async def refunds_in(self, state: RefundState, limit: int) -> list[dict[str, Any]]:
        cursor = self.collection.find({"refund.state": state.value}).sort("_id", ASCENDING).limit(limit)
        return [doc async for doc in cursor]
