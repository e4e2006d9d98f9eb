"""Refunds that school finance asks for (`payment_refunds`): one document per request, on a paid order.

    requested ──approve (another finance staff member of the school)──▶ approved ──provider accepted──▶ processing
        │                                                                  │  └──provider refused──▶ failed
        └──reject (another finance staff member, with a reason)──▶ rejected  └──settled at once──▶ succeeded
    processing ──REFUND.SUCCESS callback / query──▶ succeeded
               └──REFUND.ABNORMAL / CLOSED / query──▶ failed

- Money is integer fen. A refund may be partial; the sum of a paid order's refunds never exceeds what was paid.
  The request RESERVES its amount on the order in the same transaction that records it (a conditional update
  of the order's `refund_reserved_fen`, so concurrent requests cannot over-reserve); a rejection or a failure
  releases it, a success adds it to the order's `refunded_fen`.
- Four eyes: the requester and the approver (or rejecter) are two different `school_finance` staff members of
  the order's school (`check_second_person`).
- `out_refund_no` is fixed when the request is made (`RF` + the refund id), so every send — the approval's, the
  sweep's retries — names the same refund at the provider, which makes at most one.
- `approved` means "decided, not yet accepted by the provider": the sweep sends it again. A refund callback may
  arrive before we recorded `processing` (the provider is fast): approved → succeeded is allowed.
- `succeeded`, `failed` and `rejected` are final. A failed refund is tried again as a NEW refund (its own id and
  out_refund_no, `retry_of` the failed one, which gets `retried_by`), and only when the provider says the failed
  one is over and paid nothing back (`failed_for_good`): a new number for a refund the provider still holds could
  pay the money twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from core.errors import AppError
from core.mongo import Repository
from payments import refund_errors as RE

Session = AsyncClientSession | None
OUT_REFUND_PREFIX = "RF"


class RefundState(StrEnum):
    REQUESTED = "requested"    # asked by one finance staff member, awaiting a second
    APPROVED = "approved"      # approved; not yet accepted by the provider (sent again by the sweep)
    PROCESSING = "processing"  # accepted by the provider; settled by its callback (WeChat Pay) or a query
    SUCCEEDED = "succeeded"
    FAILED = "failed"          # refused or given up by the provider: nothing was refunded, the amount is released
    REJECTED = "rejected"      # the second person said no (with a reason)


STATE_LABELS = {RefundState.REQUESTED: "待审批", RefundState.APPROVED: "已批准，待提交", RefundState.PROCESSING: "退款中",
                RefundState.SUCCEEDED: "已退款", RefundState.FAILED: "退款失败", RefundState.REJECTED: "已驳回"}
TRANSITIONS: dict[RefundState, tuple[RefundState, ...]] = {
    RefundState.REQUESTED: (RefundState.APPROVED, RefundState.REJECTED),
    RefundState.APPROVED: (RefundState.PROCESSING, RefundState.SUCCEEDED, RefundState.FAILED),
    RefundState.PROCESSING: (RefundState.SUCCEEDED, RefundState.FAILED),
    RefundState.SUCCEEDED: (), RefundState.FAILED: (), RefundState.REJECTED: (),
}
FINAL = (RefundState.SUCCEEDED, RefundState.FAILED, RefundState.REJECTED)
# Whose amount still counts against the order (reserved): everything but a rejection or a failure.
RESERVING = (RefundState.REQUESTED, RefundState.APPROVED, RefundState.PROCESSING, RefundState.SUCCEEDED)


# What a failed refund's `failure` says about trying again (the provider's own words, see `failed_for_good`).
CLOSED_STATUSES = frozenset({"CLOSED"})  # WeChat Pay 退款关闭: over at the provider, nothing paid back
HELD_STATUSES = frozenset({"ABNORMAL"})  # WeChat Pay 退款异常: the money is held there (e.g. a cancelled bank card)


def failed_for_good(failure: dict[str, Any] | None) -> bool:
    """True when the provider says the refund is over and paid nothing back, so a new attempt under a NEW
    out_refund_no cannot pay twice: it refused the request outright (`source` provider: ProviderRejected, the
    refund was never made there) or closed it (WeChat Pay CLOSED). An ABNORMAL refund is still held by WeChat Pay
    and is finished on its merchant platform (异常退款); anything else unknown is for a person to look at."""
    if not failure:
        return False
    return failure.get("source") == "provider" or failure.get("detail") in CLOSED_STATUSES


def failure_label(failure: dict[str, Any] | None) -> str | None:
    """The failure in words for school finance (the provider's code and message, and what can be done)."""
    if not failure:
        return None
    detail, message = failure.get("detail") or "", failure.get("message") or ""
    if failure.get("source") == "provider":
        said = f"{detail}：{message}" if message else detail
        return f"支付渠道拒绝了退款（{said}），未退出任何款项，可重新发起"
    if detail in CLOSED_STATUSES:
        return "支付渠道已关闭该退款（退款关闭），未退出任何款项，可重新发起"
    if detail in HELD_STATUSES:
        return "退款异常：款项滞留在支付渠道（如用户银行卡已注销），须在支付渠道商户平台处理，不能重新发起"
    return f"退款失败（{detail or '原因未知'}），须人工向支付渠道核实，不能重新发起"


def can_move(current: str, to: RefundState) -> bool:
    return to in TRANSITIONS[RefundState(current)]


def sources_of(to: RefundState) -> tuple[str, ...]:
    """Every state from which `to` may be reached (the filter of a conditional transition)."""
    return tuple(state.value for state, targets in TRANSITIONS.items() if to in targets)


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    amount_fen: int = Field(gt=0, le=10**10, strict=True, description="退款金额（分），可部分退款")
    reason: str = Field(min_length=2, max_length=80, description="退款原因（会显示在家长的微信/支付宝退款记录中）")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=2, max_length=200, description="驳回原因")


def refundable_fen(order: dict[str, Any]) -> int:
    """What may still be asked for on the order: paid minus every refund requested, approved, in flight or done."""
    return order["amount_fen"] - int(order.get("refund_reserved_fen") or 0)


def check_amount(order: dict[str, Any], amount_fen: int) -> None:
    """409 REFUND_AMOUNT_EXCEEDED (with what is left) when the amount is more than may still be refunded. The
    database enforces the same under concurrency (OrderRepository.reserve_refund); this gives the early answer."""
    left = refundable_fen(order)
    if amount_fen > left:
        raise AppError(RE.REFUND_AMOUNT_EXCEEDED, errmsg=f"退款金额超过可退金额（剩余可退 {left} 分）",
                       extra={"refundable_fen": max(left, 0)})


def check_second_person(refund: dict[str, Any], staff_id: str | None) -> None:
    """Four eyes: whoever asked for the refund may not decide it (403 REFUND_SAME_PERSON)."""
    if staff_id is None or staff_id == refund["requested_by"]["staff_id"]:
        raise AppError(RE.REFUND_SAME_PERSON)


def check_state(refund: dict[str, Any], *expected: RefundState) -> None:
    if refund["state"] not in expected:
        state = RefundState(refund["state"])
        raise AppError(RE.REFUND_STATE_CONFLICT, errmsg=f"退款申请{STATE_LABELS[state]}，不能再执行此操作",
                       extra={"state": state.value})


def new_refund(*, refund_id: str, order: dict[str, Any], bill: dict[str, Any], amount_fen: int, reason: str,
               staff_id: str, staff_name: str, now: datetime) -> dict[str, Any]:
    return {
        "_id": refund_id, "out_refund_no": f"{OUT_REFUND_PREFIX}{refund_id}", "order_id": order["_id"],
        "out_trade_no": order["out_trade_no"], "channel": order["channel"], "bill_id": bill["_id"],
        "school_id": order["school_id"], "region_code": order["region_code"], "student_id": order["student_id"],
        "student_name": bill["student_name"], "item_name": bill["item"]["name"], "payer_person_id": order["person_id"],
        "order_amount_fen": order["amount_fen"], "amount_fen": amount_fen, "full": amount_fen == order["amount_fen"],
        "reason": reason, "state": RefundState.REQUESTED.value, "version": 0,
        "requested_by": {"staff_id": staff_id, "name": staff_name}, "requested_at": now,
        "decided_by": None, "decided_at": None, "reject_reason": None,
        "sent_at": None, "send_attempts": 0, "provider_refund_id": None, "accepted_at": None, "settled_at": None,
        "settled_by": None,
        "failure": None, "attempt": 1, "retry_of": None, "retried_by": None, "created_at": now, "updated_at": now,
    }


def retry_of(failed: dict[str, Any], *, refund_id: str, staff_id: str, staff_name: str,
             now: datetime) -> dict[str, Any]:
    """The next attempt of a refund that failed for good: the same order, bill, amount and reason, already
    approved (the two people's decision stands, only the provider's number is new), to be sent at once."""
    keep = ("order_id", "out_trade_no", "channel", "bill_id", "school_id", "region_code", "student_id",
            "student_name", "item_name", "payer_person_id", "order_amount_fen", "amount_fen", "full", "reason",
            "requested_by", "requested_at", "decided_by", "decided_at")
    return {
        **{key: failed[key] for key in keep}, "_id": refund_id, "out_refund_no": f"{OUT_REFUND_PREFIX}{refund_id}",
        "state": RefundState.APPROVED.value, "version": 0, "reject_reason": None, "sent_at": None,
        "send_attempts": 0, "provider_refund_id": None, "accepted_at": None, "settled_at": None, "settled_by": None,
        "failure": None, "attempt": int(failed.get("attempt") or 1) + 1, "retry_of": failed["_id"],
        "retried_by": None, "retry_asked_by": {"staff_id": staff_id, "name": staff_name}, "created_at": now,
        "updated_at": now,
    }


class RefundRepository(Repository):
    collection_name = "payment_refunds"
    indexes = (
        IndexModel([("out_refund_no", ASCENDING)], unique=True, name="out_refund_no_unique"),
        IndexModel([("school_id", ASCENDING), ("_id", DESCENDING)], name="school_recent"),
        IndexModel([("bill_id", ASCENDING), ("_id", ASCENDING)], name="bill"),
        IndexModel([("state", ASCENDING), ("sent_at", ASCENDING)], name="state_sent"),
    )

    async def get(self, refund_id: str, *, session: Session = None) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": refund_id}, session=session)

    async def by_out_refund_no(self, out_refund_no: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"out_refund_no": out_refund_no})

    async def insert(self, doc: dict[str, Any], *, session: Session = None) -> None:
        await self.collection.insert_one(doc, session=session)

    async def transition(self, refund_id: str, to: RefundState, changes: dict[str, Any], *,
                         from_states: tuple[str, ...] | None = None, session: Session = None) -> dict[str, Any] | None:
        """→ `to` with `changes` from any state allowed to move there (or only from `from_states`), atomically;
        the new refund, or None when it is in another state (a duplicate, a race lost)."""
        allowed = [s for s in (from_states or sources_of(to)) if can_move(s, to)]
        return await self.collection.find_one_and_update(
            {"_id": refund_id, "state": {"$in": allowed}},
            {"$set": {**changes, "state": to.value}, "$inc": {"version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def count_send(self, refund_id: str, now: datetime) -> None:
        await self.collection.update_one({"_id": refund_id}, {"$set": {"sent_at": now, "updated_at": now},
                                                              "$inc": {"send_attempts": 1}})

    async def mark_accepted(self, refund_id: str, at: datetime, *, session: Session = None) -> None:
        """When the provider took the refund (reconciliation matches its bill by it); the first time only."""
        await self.collection.update_one({"_id": refund_id, "accepted_at": None}, {"$set": {"accepted_at": at}},
                                         session=session)

    async def mark_retried(self, refund_id: str, retry_id: str, *, session: Session = None) -> dict[str, Any] | None:
        """Link a failed refund to its next attempt, once (None when it is not failed or already retried)."""
        return await self.collection.find_one_and_update(
            {"_id": refund_id, "state": RefundState.FAILED.value, "retried_by": None},
            {"$set": {"retried_by": retry_id}, "$inc": {"version": 1}}, session=session,
            return_document=ReturnDocument.AFTER)

    async def totals(self, school_id: str) -> dict[str, dict[str, int]]:
        """{state: {count, amount_fen}} of the school's refunds (a failed one already retried is not counted)."""
        pipeline = [{"$match": {"school_id": school_id, "retried_by": None}},
                    {"$group": {"_id": "$state", "count": {"$sum": 1}, "amount_fen": {"$sum": "$amount_fen"}}}]
        return {row["_id"]: {"count": row["count"], "amount_fen": row["amount_fen"]}
                async for row in await self.collection.aggregate(pipeline)}

    async def of_school(self, school_id: str, *, states: list[str] | None = None,
                        limit: int = 200) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"school_id": school_id}
        if states:
            query["state"] = {"$in": states}
        return [doc async for doc in self.collection.find(query).sort("_id", DESCENDING).limit(limit)]

    async def of_bill(self, bill_id: str) -> list[dict[str, Any]]:
        return [doc async for doc in self.collection.find({"bill_id": bill_id}).sort("_id", ASCENDING)]

    async def due(self, state: RefundState, *, sent_before: datetime | None = None,
                  limit: int = 200) -> list[dict[str, Any]]:
        """Refunds in `state` (the sweep): approved ones to send again, processing ones sent before a moment."""
        query: dict[str, Any] = {"state": state.value}
        if sent_before is not None:
            query["sent_at"] = {"$lt": sent_before}
        return [doc async for doc in self.collection.find(query).sort("_id", ASCENDING).limit(limit)]
