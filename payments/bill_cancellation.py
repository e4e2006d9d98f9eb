"""Cancelling unpaid bills and telling the guardians, inside the caller's transaction: the one way bills end
unpaid, whoever ends them — a withdrawn fee item (payments/fee_items.py) or a student who left the school
(payments/student_leaving.py).

Every unpaid bill matched goes unpaid → cancelled with the reason (one conditional write: a bill paid a moment
earlier is left alone, and money arriving for a cancelled bill is refunded by the settlement), and each gets a
`bill.cancelled` outbox event for the student's guardians linked at that moment (key `bill:<id>:cancelled`: a
bill is cancelled once). Paid and refunded bills, and their receipts, are never touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from core.outbox import OutboxEvent, OutboxRepository, Recipient
from payments.bills import BillRepository
from payments.students import StudentRepository


def cancelled_event(bill: dict[str, Any], guardians: list[str], reason: str) -> OutboxEvent:
    return OutboxEvent(
        topic="bill.cancelled", key=f"bill:{bill['_id']}:cancelled",
        recipients=tuple(Recipient("person", p) for p in guardians),
        data={"bill_id": bill["_id"], "fee_item_name": bill["item"]["name"], "reason": reason,
              "student_name": bill["student_name"], "school_name": bill["school_name"],
              "amount_fen": bill["amount_fen"]},
        subject={"kind": "bill", "id": bill["_id"]})


async def cancel_unpaid(bills: BillRepository, students: StudentRepository, outbox: OutboxRepository, *,
                        reason: str, now: datetime, session: AsyncClientSession, item_id: str | None = None,
                        student_id: str | None = None) -> list[dict[str, Any]]:
    """Cancel the unpaid bills of a fee item or of a student, with their `bill.cancelled` events; the bills."""
    cancelled = await bills.cancel_unpaid(reason, now, item_id=item_id, student_id=student_id, session=session)
    guardians: dict[str, list[str]] = {}
    for bill in cancelled:
        if bill["student_id"] not in guardians:
            student = await students.get(bill["student_id"], session=session) or {}
            guardians[bill["student_id"]] = list(student.get("guardian_person_ids") or [])
        if guardians[bill["student_id"]]:
            await outbox.add(cancelled_event(bill, guardians[bill["student_id"]], reason), session=session, now=now)
    return cancelled
