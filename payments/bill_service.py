"""Bills as the payment side uses them: load one for the person about to pay it, mark it paid.

This is the surface orders and callbacks build on (docs/school-fees.md, "What orders build on"):
- `for_payer(actor, bill_id)`: the bill, if the actor may pay it (a guardian linked to its student *now*);
  a resident refused gets 404 exactly like a missing bill; staff get 403.
- `mark_paid(bill_id, payment=…, session=…)`: unpaid → paid inside the caller's MongoDB transaction (the one
  that settles the order), with a `bill.paid` outbox event for the guardians; BILL_STATE_CONFLICT (409, with the
  bill's state) when the bill is not unpaid, e.g. cancelled by a withdrawal or paid by another order. The state
  change is one conditional write, so of two concurrent settlements exactly one succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from accounts import errors as AE
from accounts.scopes import Action, Actor, authorize
from core.clock import bson_time
from core.errors import AppError
from core.outbox import OutboxEvent, OutboxRepository, Recipient
from payments import fee_errors as FE
from payments.bills import BILL_STATE_LABELS, BillRepository, BillState, bill_resource
from payments.students import StudentRepository


@dataclass
class Bills:
    bills: BillRepository
    students: StudentRepository
    outbox: OutboxRepository

    async def for_payer(self, actor: Actor, bill_id: str, action: str = Action.ACT) -> dict[str, Any]:
        """The bill when `actor` may pay it (ACT) or see it (READ): a linked guardian, or the school's finance."""
        bill = await self.bills.get(bill_id)
        if bill is None:
            raise AppError(FE.BILL_NOT_FOUND if actor.is_staff else AE.RESOURCE_NOT_FOUND)
        student = await self.students.get(bill["student_id"]) or {}
        authorize(actor, action, bill_resource(bill, student.get("guardian_person_ids", ())))
        return bill

    async def mark_paid(self, bill_id: str, *, payment: dict[str, Any], session: AsyncClientSession,
                        now: datetime | None = None) -> dict[str, Any]:
        """unpaid → paid in the caller's transaction. `payment` is what the receipt and the export show, e.g.
        {"provider": "wechatpay", "order_id": …, "transaction_id": …, "amount_fen": …}."""
        at = bson_time(now)
        after = await self.bills.transition(bill_id, (BillState.UNPAID.value,), BillState.PAID.value,
                                            {"paid_at": at, "payment": payment, "updated_at": at}, session=session)
        if after is None:
            current = await self.bills.get(bill_id, session=session)
            if current is None:
                raise AppError(FE.BILL_NOT_FOUND)
            state = BillState(current["state"])
            raise AppError(FE.BILL_STATE_CONFLICT, errmsg=f"账单{BILL_STATE_LABELS[state]}，不能再标记为已缴费",
                           extra={"state": state.value})
        student = await self.students.get(after["student_id"], session=session) or {}
        guardians = student.get("guardian_person_ids") or []
        if guardians:
            await self.outbox.add(OutboxEvent(
                topic="bill.paid", key=f"bill:{bill_id}:paid", recipients=tuple(Recipient("person", p) for p in guardians),
                data={"bill_id": bill_id, "fee_item_name": after["item"]["name"], "student_name": after["student_name"],
                      "school_name": after["school_name"], "amount_fen": after["amount_fen"],
                      "order_no": payment.get("order_id"), "paid_at": payment.get("paid_at") or at},
                subject={"kind": "bill", "id": bill_id}), session=session, now=at)
        return after
