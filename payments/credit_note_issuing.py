"""Issuing the credit note (红字票据) of every refund of a paid bill that settles: exactly one, never lost.

    RefundSettlement.succeed transaction ── refund succeeded, order/bill counted, `refund.settled`,
        │                                   credit_note_queue[refund id] ──▶ commit
        │ right after the commit (same process): issue now
        └ beat, with the receipts (payments.payment_record_tasks.issue_receipts): every entry still queued

The same shape as receipts (payments/receipt_issuing.py) and for the same reasons: the queue entry is written in
the transaction that settles the refund, so a process that dies after the commit still owes the note and the
sweep issues it; `CreditNoteBook.issue` is idempotent per refund (unique index), so a second settlement, the
sweep and an on-demand issue racing each other still make one. The original receipt is issued first if it is
still owed (a refund can only be asked for on a paid order, which always gets one).

Only refunds school finance asked for (`payment_refunds`) get a credit note: the automatic refund of money that
arrived for an order that could not be paid cancels no receipt, because that payment never got one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from payments.credit_notes import CreditNote, CreditNoteBook, Refunded
from payments.receipt_issuing import ReceiptIssuer, ReceiptQueueRepository, sweep_owed
from payments.refunds import RefundRepository, RefundState

log = structlog.get_logger(__name__)
BATCH = 200


class CreditNoteQueueRepository(ReceiptQueueRepository):
    """`credit_note_queue`: credit notes owed, one per settled refund (`_id` = refund id), removed once issued."""

    collection_name = "credit_note_queue"


def refunded_of(refund: dict[str, Any]) -> Refunded:
    settled_at = refund["settled_at"]
    return Refunded(refund_id=refund["_id"], out_refund_no=refund["out_refund_no"],
                    out_trade_no=refund["out_trade_no"], amount_fen=refund["amount_fen"], reason=refund["reason"],
                    settled_at=settled_at if settled_at.tzinfo else settled_at.replace(tzinfo=UTC),
                    provider_refund_id=refund.get("provider_refund_id") or "")


@dataclass
class CreditNoteIssuer:
    """The refund settlement's `on_settled` listener, the credit-note sweep, and issue-on-demand."""

    book: CreditNoteBook
    queue: CreditNoteQueueRepository
    refunds: RefundRepository
    receipts: ReceiptIssuer

    # -- SettledListener (payments/refund_settlement.py) ----------------------------------------------------
    async def record(self, refund_id: str, session: AsyncClientSession) -> None:
        await self.queue.add(refund_id, session=session)

    async def committed(self, refund_id: str) -> None:
        try:
            await self.issue_for(refund_id)
        except Exception as exc:  # noqa: BLE001 - the queue entry stays: the sweep issues it
            log.warning("credit_note_deferred", refund_id=refund_id, error=type(exc).__name__)

    # -- issuing ----------------------------------------------------------------------------------------------
    async def issue_for(self, refund_id: str) -> CreditNote | None:
        """The credit note of a succeeded refund, issued now if not yet (idempotent); None when there is none to
        issue (the refund did not succeed)."""
        existing = await self.book.of_refund(refund_id)
        if existing is not None:
            await self.queue.done(refund_id)
            return existing
        refund = await self.refunds.get(refund_id)
        if refund is None or refund["state"] != RefundState.SUCCEEDED:
            await self.queue.done(refund_id)
            return None
        original = await self.receipts.issue_for(refund["order_id"])
        if original is None:
            raise ValueError(f"refund {refund_id}: order {refund['order_id']} has no receipt")
        note = await self.book.issue(original, refunded_of(refund))
        await self.queue.done(refund_id)
        log.info("credit_note_issued", refund_id=refund_id, number=note.number, original=original.number)
        return note

    async def sweep(self, now: datetime | None = None, *, limit: int = BATCH) -> dict[str, int]:
        """Issue every credit note still owed (older than GRACE); counts by outcome."""
        return await sweep_owed(self.queue, self.issue_for, "credit_note", now=now, limit=limit)
