"""Generating the bills of a published fee item: an idempotent job, in batches, each batch one transaction.

Why a job and not the publishing request's own transaction: a large school has thousands of students, and one
transaction holding thousands of bills and their notification events would be long and fragile. Publishing
commits the item's new state with `bills.state = pending` and queues this job (Celery, queue `bulk`); a beat
sweep re-queues a request whose task was lost. The job claims the item (a re-delivered task finds it claimed),
then walks the applicable students in id order, BATCH at a time. Each batch is one MongoDB transaction: it
re-reads the item (a withdrawn item stops the job), inserts the bills its students do not have yet, records one
`bill.published` outbox event per new bill for the guardians linked at that moment, and counts them on the item
(which makes a concurrent withdrawal and the batch conflict, so one of them runs again on the other's result).

Idempotent by construction: (fee item, student) is unique, and each batch first asks which students already
have a bill, so running the job again — after a crash, or after a roster import added students — only fills
in what is missing. Guardians who link later see the bill anyway (bills are listed by student), and the link
itself notifies them of the child's unpaid bills (payments/guardians.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from affairs.case_repository import Transactions
from core.clock import bson_time
from core.ids import new_id
from core.outbox import OutboxEvent, OutboxRepository, Recipient
from payments.bills import BillRepository, new_bill
from payments.fee_item_repository import FeeItemRepository
from payments.students import StudentRepository

log = structlog.get_logger(__name__)
BATCH = 200
BILLS_TASK = "payments.bill_tasks.generate_bills"
BILLS_QUEUE = "bulk"


def published_event(bill: dict[str, Any], guardians: list[str], key: str) -> OutboxEvent:
    return OutboxEvent(
        topic="bill.published", key=key, recipients=tuple(Recipient("person", p) for p in guardians),
        data={"bill_id": bill["_id"], "fee_item_name": bill["item"]["name"], "term": bill["item"]["term"],
              "student_name": bill["student_name"], "school_name": bill["school_name"],
              "amount_fen": bill["amount_fen"]},
        subject={"kind": "bill", "id": bill["_id"]})


@dataclass
class BillGenerator:
    tx: Transactions  # retry_on DuplicateKeyError: a concurrent run inserted the same bill first
    items: FeeItemRepository
    students: StudentRepository
    bills: BillRepository
    outbox: OutboxRepository
    batch: int = BATCH

    async def run(self, item_id: str) -> str | None:
        """Generate what is missing; `done`, `stopped` (no longer published), or None (nothing to claim)."""
        item = await self.items.claim_bills(item_id)
        if item is None:
            log.info("bills_not_claimed", fee_item_id=item_id)
            return None
        state, made, after = ("done" if item["state"] == "published" else "stopped"), 0, None
        try:
            while state == "done":
                students = await self.students.billable(item["school_id"], item["grades"], item["class_ids"],
                                                        after=after, limit=self.batch)
                if not students:
                    break
                written = await self.tx.run(lambda session, page=students: self._batch(item_id, page, session))
                if written is None:
                    state = "stopped"
                else:
                    made, after = made + written, students[-1]["_id"]
        except Exception:
            log.exception("bills_generation_failed", fee_item_id=item_id)  # the lease lets a later run finish
            raise
        await self.items.finish_bills(item_id, state)
        log.info("bills_generated", fee_item_id=item_id, created=made, state=state)
        return state

    async def _batch(self, item_id: str, students: list[dict[str, Any]], session: AsyncClientSession) -> int | None:
        item = await self.items.get(item_id, session=session)
        if item is None or item["state"] != "published":
            return None
        billed = await self.bills.students_billed(item_id, [s["_id"] for s in students], session=session)
        now = bson_time()
        fresh = [(new_bill(item, s, new_id(), now), s) for s in students if s["_id"] not in billed]
        await self.bills.insert_many([bill for bill, _ in fresh], session=session)
        for bill, student in fresh:
            if student.get("guardian_person_ids"):
                await self.outbox.add(published_event(bill, student["guardian_person_ids"],
                                                      f"bill:{bill['_id']}:published"), session=session, now=now)
        await self.items.bills_written(item_id, len(fresh), session=session)
        return len(fresh)
