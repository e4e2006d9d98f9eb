"""Carrying school finance's approved refunds to the provider and settling them, whoever says so (the approval's
own send, a WeChat Pay REFUND.* callback, a query of the sweep). The rules: payments/refunds.py.

- `send`: approved → processing (or straight to succeeded / failed when the provider says so at once). The
  provider talk is payments/order_refunds.py's `RefundDesk`, shared with the automatic refunds of late money.
  A provider that does not answer leaves the refund approved: the sweep sends it again with the same
  out_refund_no, so the provider makes at most one refund.
- `succeed` is ONE MongoDB transaction: the refund → succeeded (conditional on its state, so a duplicate
  callback, a concurrent query or a retried transaction changes nothing), the order's `refunded_fen` counted,
  the bill's `refunded_fen` counted and, when the whole amount is back, the bill paid → refunded, and a
  `refund.settled` outbox event for the payer (notifications/templates.toml has its wording), and the credit
  note (红字票据) still owed for it (`on_settled`, payments/credit_note_issuing.py: queued in this transaction,
  issued right after the commit or by the receipt sweep; one per refund by a unique index).
- `fail` (refused, ABNORMAL, CLOSED) is one transaction too: the refund → failed and its amount released on
  the order (it may be asked for again), with the provider's code and message; logged as an error for school
  finance, who may try it again when the provider says it failed for good (payments/refunds.py).
- A callback may come before our send recorded `processing` (approved → succeeded is allowed); a callback for
  a refund never approved, or whose amounts differ, is refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from affairs.case_repository import Transactions
from core.clock import bson_time
from core.outbox import OutboxEvent, OutboxRepository, Recipient
from payments.bills import BillRepository
from payments.errors import CallbackRejected, ProviderRejected, ProviderUnavailable, TradeNotFound
from payments.order_refunds import (
    FAILED,
    PROCESSING,
    SUCCEEDED,
    WECHATPAY_OUTCOMES,
    ProviderRefund,
    RefundDesk,
)
from payments.orders import Channel, OrderRepository
from payments.refunds import RefundRepository, RefundState
from payments.wechatpay_types import RefundNotice

log = structlog.get_logger(__name__)
BATCH = 200


class SettledListener(Protocol):
    """Told of every refund that succeeds (payments/credit_note_issuing.py: its credit note)."""

    async def record(self, refund_id: str, session: AsyncClientSession) -> None:
        """Inside the transaction that settles the refund: write what must not be lost with it."""

    async def committed(self, refund_id: str) -> None:
        """After that transaction committed: the follow-up work (never raises; the sweep catches up)."""


@dataclass
class RefundSettlement:
    refunds: RefundRepository
    orders: OrderRepository
    bills: BillRepository
    outbox: OutboxRepository
    desk: RefundDesk
    tx: Transactions
    query_after: timedelta = timedelta(minutes=5)
    on_settled: SettledListener | None = None

    # -- to the provider -----------------------------------------------------------------------------------------
    async def send(self, refund_id: str) -> str:
        """Send an approved refund to its provider; the refund's state after."""
        refund = await self.refunds.get(refund_id)
        if refund is None:
            raise LookupError(refund_id)
        if refund["state"] != RefundState.APPROVED:
            return str(refund["state"])
        await self.refunds.count_send(refund_id, bson_time())
        try:
            answer = await self.desk.send(channel=refund["channel"], out_trade_no=refund["out_trade_no"],
                                          out_refund_no=refund["out_refund_no"], refund_fen=refund["amount_fen"],
                                          total_fen=refund["order_amount_fen"], reason=refund["reason"])
        except ProviderUnavailable as exc:
            log.warning("school_refund_deferred", refund_id=refund_id, code=exc.code)
            return await self._state(refund_id)
        except ProviderRejected as exc:
            log.error("school_refund_refused", refund_id=refund_id, code=exc.code, channel=refund["channel"])
            await self.fail(refund_id, source="provider", detail=exc.code, message=exc.message)
            return await self._state(refund_id)
        except CallbackRejected as exc:  # the provider's own answer disagrees with ours: a person must look
            log.error("school_refund_mismatch", refund_id=refund_id, reason=exc.reason)
            return await self._state(refund_id)
        await self.refunds.mark_accepted(refund_id, bson_time(answer.accepted_at))
        await self._apply(refund, answer, source="send")
        log.info("school_refund_sent", refund_id=refund_id, channel=refund["channel"], answer=answer.state)
        return await self._state(refund_id)

    async def _apply(self, refund: dict[str, Any], answer: ProviderRefund, *, source: str) -> None:
        if answer.state == SUCCEEDED:
            await self.succeed(refund["_id"], source=source, provider_refund_id=answer.provider_refund_id,
                               detail=answer.detail)
        elif answer.state == FAILED:
            await self.fail(refund["_id"], source=source, detail=answer.detail)
        else:  # processing: None when a callback settled it first
            now = bson_time()
            await self.refunds.transition(refund["_id"], RefundState.PROCESSING, {
                "provider_refund_id": answer.provider_refund_id, "updated_at": now},
                from_states=(RefundState.APPROVED.value,))

    async def _state(self, refund_id: str) -> str:
        refund = await self.refunds.get(refund_id)
        return str((refund or {}).get("state"))

    # -- from the provider ---------------------------------------------------------------------------------------
    async def notice(self, notice: RefundNotice) -> bool | None:
        """A verified WeChat Pay REFUND.* notice. None: not a refund of school finance (the caller asks the
        automatic refunds); False: a duplicate; True: settled now. CallbackRejected when it does not match."""
        refund = await self.refunds.by_out_refund_no(notice.out_refund_no)
        if refund is None:
            return None
        if (refund["channel"] != Channel.WECHATPAY or notice.out_trade_no != refund["out_trade_no"]
                or notice.amount.refund != refund["amount_fen"] or notice.amount.total != refund["order_amount_fen"]):
            raise CallbackRejected(Channel.WECHATPAY.value, "refund_mismatch", notice.out_refund_no[:64])
        if refund["state"] == RefundState.REQUESTED:  # we never sent it: whatever this is, it is not ours
            raise CallbackRejected(Channel.WECHATPAY.value, "refund_not_sent", notice.out_refund_no[:64])
        outcome = WECHATPAY_OUTCOMES.get(notice.refund_status)
        if outcome is None or outcome == PROCESSING:
            raise CallbackRejected(Channel.WECHATPAY.value, "unknown_refund_status", notice.refund_status[:20])
        if outcome == SUCCEEDED:
            return await self.succeed(refund["_id"], source="callback", provider_refund_id=notice.refund_id,
                                      detail=notice.refund_status)
        return await self.fail(refund["_id"], source="callback", detail=notice.refund_status)

    async def check(self, refund: dict[str, Any]) -> str:
        """The sweep: ask the provider about a refund still processing; its state after."""
        try:
            answer = await self.desk.query(channel=refund["channel"], out_trade_no=refund["out_trade_no"],
                                           out_refund_no=refund["out_refund_no"], refund_fen=refund["amount_fen"])
        except TradeNotFound:  # accepted, yet unknown there: a person must look
            log.error("school_refund_unknown_at_provider", refund_id=refund["_id"])
            return "unknown"
        except (ProviderUnavailable, ProviderRejected) as exc:
            log.warning("school_refund_query_failed", refund_id=refund["_id"], code=exc.code)
            return "provider_unavailable"
        except CallbackRejected as exc:
            log.error("school_refund_mismatch", refund_id=refund["_id"], reason=exc.reason)
            return "mismatch"
        await self._apply(refund, answer, source="query")
        return await self._state(refund["_id"])

    # -- the two endings -----------------------------------------------------------------------------------------
    async def succeed(self, refund_id: str, *, source: str, provider_refund_id: str | None = None,
                      detail: str | None = None) -> bool:
        """→ succeeded with everything it changes, in one transaction; False when it already had (a duplicate)."""
        async def work(session: AsyncClientSession) -> bool:
            now = bson_time()
            changes: dict[str, Any] = {"settled_at": now, "settled_by": source, "updated_at": now,
                                       "failure": None}
            if provider_refund_id:
                changes["provider_refund_id"] = provider_refund_id
            refund = await self.refunds.transition(refund_id, RefundState.SUCCEEDED, changes, session=session)
            if refund is None:
                return False
            await self.refunds.mark_accepted(refund_id, now, session=session)  # the callback came first
            order = await self.orders.count_refund(refund["order_id"], refunded_fen=refund["amount_fen"],
                                                   session=session)
            assert order is not None
            full = int(order.get("refunded_fen") or 0) >= order["amount_fen"]
            bill = await self.bills.add_refund(refund["bill_id"], refund["amount_fen"], full=full, now=now,
                                               session=session)
            if bill is None:
                log.error("school_refund_bill_not_paid", refund_id=refund_id, bill_id=refund["bill_id"])
            await self.outbox.add(OutboxEvent(
                topic="refund.settled", key=f"refund:{refund_id}:settled",
                recipients=(Recipient("person", refund["payer_person_id"]),),
                data={"bill_id": refund["bill_id"], "bill_name": refund["item_name"],
                      "student_name": refund["student_name"], "amount_fen": refund["amount_fen"],
                      "refund_no": refund["out_refund_no"], "order_id": refund["order_id"],
                      "refund_id": refund_id, "full": full, "settled_at": now.isoformat()},
                subject={"kind": "bill", "id": refund["bill_id"]}), session=session, now=now)
            if self.on_settled is not None:
                await self.on_settled.record(refund_id, session)
            return True

        changed = await self.tx.run(work)
        log.info("school_refund_settled" if changed else "school_refund_duplicate", refund_id=refund_id,
                 state=RefundState.SUCCEEDED.value, source=source, detail=detail)
        if changed and self.on_settled is not None:
            await self.on_settled.committed(refund_id)
        return changed

    async def fail(self, refund_id: str, *, source: str, detail: str | None, message: str | None = None) -> bool:
        """→ failed, its amount released on the order, in one transaction; False when it was no longer open.
        `detail` is the provider's code or refund status, `message` its words (shown to school finance)."""
        async def work(session: AsyncClientSession) -> bool:
            now = bson_time()
            refund = await self.refunds.transition(refund_id, RefundState.FAILED, {
                "failure": {"source": source, "detail": (detail or "")[:120], "message": (message or "")[:200]},
                "settled_at": now,
                "settled_by": source, "updated_at": now}, session=session)
            if refund is None:
                return False
            await self.orders.count_refund(refund["order_id"], reserved_fen=-refund["amount_fen"], session=session)
            return True

        changed = await self.tx.run(work)
        if changed:
            log.error("school_refund_failed", refund_id=refund_id, source=source, detail=detail)
        return changed

    # -- the sweep -----------------------------------------------------------------------------------------------
    async def sweep(self, now: datetime) -> Counter[str]:
        """Send approved refunds again; ask about those processing for longer than `query_after`."""
        counts: Counter[str] = Counter()
        for refund in await self.refunds.due(RefundState.APPROVED, limit=BATCH):
            counts[f"school_refund_{await self.send(refund['_id'])}"] += 1
        for refund in await self.refunds.due(RefundState.PROCESSING, sent_before=now - self.query_after, limit=BATCH):
            counts[f"school_refund_{await self.check(refund)}"] += 1
        return counts
