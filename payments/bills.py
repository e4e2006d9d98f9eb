"""Bills (`bills`): one per (fee item, student), the thing a parent pays.

    unpaid ──▶ paid          (payments: the lead's orders mark it, `Bills.mark_paid` inside their transaction)
       │        └──▶ refunded (school finance refunded the whole amount: payments/refund_settlement.py; final,
       │                       the bill is not paid again; a partial refund leaves it paid with `refunded_fen`)
       └─────▶ cancelled     (the fee item was withdrawn, or the student left the school, before it was paid)

(fee item, student) is unique in the database, so generating bills again — a retried job, a roster imported
again after publishing — never makes a second bill. Money is integer fen, copied from the fee item when the bill
is made: a bill never changes its amount. Every state change is conditional on the state read (`transition`),
so two concurrent changes cannot both apply.

A bill's owners are the guardians linked to its student *now* (read from the student, not stored on the bill),
so a guardian who links after the bill was made sees it, and one who unlinks no longer does (`bill_resource`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from accounts.scopes import Kind, Resource
from core.mongo import Repository

Session = AsyncClientSession | None


class BillState(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


BILL_STATE_LABELS = {BillState.UNPAID: "待缴费", BillState.PAID: "已缴费", BillState.CANCELLED: "已取消",
                     BillState.REFUNDED: "已退费"}


def bill_resource(bill: dict[str, Any], guardian_person_ids: list[str] | tuple[str, ...]) -> Resource:
    """The bill as the object of a scope check: owned by the student's linked guardians, in the school's care."""
    return Resource(kind=Kind.FEE, id=bill["_id"], owner_person_ids=tuple(guardian_person_ids),
                    department_ids=(bill["school_id"],), region_code=bill["region_code"])


def new_bill(item: dict[str, Any], student: dict[str, Any], bill_id: str, now: datetime) -> dict[str, Any]:
    return {
        "_id": bill_id, "fee_item_id": item["_id"], "school_id": item["school_id"], "school_name": item["school_name"],
        "region_code": item["region_code"], "student_id": student["_id"], "student_no": student["student_no"],
        "student_name": student["name"], "grade": student["grade"], "class_id": student["class_id"],
        "class_name": student["class_name"],
        "item": {"name": item["name"], "term": item["term"], "basis": item["basis"],
                 "description": item.get("description")},
        "amount_fen": item["amount_fen"], "state": BillState.UNPAID.value, "version": 0, "created_at": now,
        "updated_at": now, "paid_at": None, "payment": None, "cancelled_at": None, "cancel_reason": None,
    }


class BillRepository(Repository):
    collection_name = "bills"
    indexes = (
        IndexModel([("fee_item_id", ASCENDING), ("student_id", ASCENDING)], unique=True, name="item_student_unique"),
        IndexModel([("student_id", ASCENDING), ("_id", DESCENDING)], name="student_recent"),
        IndexModel([("school_id", ASCENDING), ("class_id", ASCENDING), ("student_no", ASCENDING)], name="class"),
        IndexModel([("fee_item_id", ASCENDING), ("state", ASCENDING)], name="item_state"),
    )

    async def get(self, bill_id: str, *, session: Session = None) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": bill_id}, session=session)

    async def students_billed(self, item_id: str, student_ids: list[str], *, session: Session = None) -> set[str]:
        cursor = self.collection.find({"fee_item_id": item_id, "student_id": {"$in": student_ids}},
                                      {"student_id": 1}, session=session)
        return {doc["student_id"] async for doc in cursor}

    async def insert_many(self, docs: list[dict[str, Any]], *, session: Session = None) -> None:
        if docs:
            await self.collection.insert_many(docs, session=session)

    async def of_student(self, student_id: str, *, states: list[str] | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"student_id": student_id}
        if states:
            query["state"] = {"$in": states}
        return [doc async for doc in self.collection.find(query).sort("_id", DESCENDING)]

    async def unpaid_of_student(self, student_id: str, *, session: Session = None) -> list[dict[str, Any]]:
        cursor = self.collection.find({"student_id": student_id, "state": BillState.UNPAID.value}, session=session)
        return [doc async for doc in cursor]

    async def of_class(self, school_id: str, class_id: str, *, item_id: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"school_id": school_id, "class_id": class_id}
        if item_id:
            query["fee_item_id"] = item_id
        cursor = self.collection.find(query).sort([("student_no", ASCENDING), ("_id", ASCENDING)])
        return [doc async for doc in cursor]

    async def transition(self, bill_id: str, from_states: tuple[str, ...], to_state: str, changes: dict[str, Any],
                         *, session: Session = None) -> dict[str, Any] | None:
        """from_states → to_state with `changes`, atomically; the new bill, or None when it is in another state."""
        return await self.collection.find_one_and_update(
            {"_id": bill_id, "state": {"$in": list(from_states)}},
            {"$set": {**changes, "state": to_state}, "$inc": {"version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def add_refund(self, bill_id: str, amount_fen: int, *, full: bool, now: datetime,
                         session: Session = None) -> dict[str, Any] | None:
        """A refund of the bill's payment finished: count it; paid → refunded when the whole amount is back."""
        changes: dict[str, Any] = {"updated_at": now}
        if full:
            changes.update(state=BillState.REFUNDED.value, refunded_at=now)
        return await self.collection.find_one_and_update(
            {"_id": bill_id, "state": BillState.PAID.value},
            {"$set": changes, "$inc": {"refunded_fen": amount_fen, "version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def cancel_unpaid(self, reason: str, now: datetime, *, item_id: str | None = None,
                            student_id: str | None = None, session: Session = None) -> list[dict[str, Any]]:
        """Cancel every unpaid bill of the item or of the student (inside the caller's transaction:
        payments/bill_cancellation.py); the bills cancelled, as they were."""
        if (item_id is None) == (student_id is None):
            raise ValueError("cancel the bills of one fee item or of one student")
        query: dict[str, Any] = {"state": BillState.UNPAID.value}
        query.update({"fee_item_id": item_id} if item_id is not None else {"student_id": student_id})
        projection = {"student_id": 1, "student_name": 1, "school_name": 1, "item": 1, "amount_fen": 1}
        cancelled = [doc async for doc in self.collection.find(query, projection, session=session)]
        if cancelled:
            await self.collection.update_many(
                {"_id": {"$in": [doc["_id"] for doc in cancelled]}, "state": BillState.UNPAID.value},
                {"$set": {"state": BillState.CANCELLED.value, "cancelled_at": now, "cancel_reason": reason,
                          "updated_at": now}, "$inc": {"version": 1}}, session=session)
        return cancelled

    async def counts(self, item_id: str) -> dict[str, int]:
        pipeline = [{"$match": {"fee_item_id": item_id}}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        return {row["_id"]: row["n"] async for row in await self.collection.aggregate(pipeline)}
