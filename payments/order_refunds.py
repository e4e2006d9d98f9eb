"""Refunds at the providers: the one dialogue about refunds (`RefundDesk`), and the automatic refunds of money
that arrived for an order that cannot be paid (payments/order_settlement.py).

`RefundDesk` is used by both kinds of refund — these automatic ones, and those school finance asks for
(payments/refund_settlement.py) — so the providers' rules live in one place:
- WeChat Pay: `refund` with our out_refund_no (the same number on every retry, so the provider makes at most one
  refund) → usually PROCESSING, settled by the REFUND.* callback or `query_refund`; SUCCESS, ABNORMAL and CLOSED
  are final.
- Alipay: `alipay.trade.refund` answers synchronously (the same out_request_no again is a harmless repeat), and
  the refund query (`alipay.trade.fastpay.refund.query`, REFUND_SUCCESS) is the authority on its outcome: it is
  asked at once, and when it does not answer the refund stays processing for the sweep to ask again (Alipay
  sends no refund notify in the basic flow).
A provider that is unavailable raises ProviderUnavailable (send again later: the number makes it safe); one that
refuses raises ProviderRejected.

The automatic refund's decision is recorded first (`refund.state = requested`, in the settlement's transaction);
`Refunder` carries it to the provider, at once (in the background of the callback that found it) and again from
the sweep until the provider has accepted it; the sweep also queries those still processing after
ZSB_REFUND_QUERY_AFTER_MIN. A refusal marks it `failed` with the provider's code and message and logs an error:
school finance sees it (payments/late_refunds.py) and may try again under a new number when the provider says it
failed for good. When the money is back (`refunded`), the payer is told in the same transaction
(`LateRefundNotice`: a `payment.returned` outbox event saying why the payment could not be used).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from affairs.case_repository import Transactions
from core.clock import bson_time
from core.outbox import OutboxEvent, OutboxRepository, Recipient
from payments.alipay import AlipayClient
from payments.bills import BillRepository
from payments.errors import CallbackRejected, ProviderRejected, ProviderUnavailable
from payments.orders import Channel, OrderRepository, RefundState
from payments.wechatpay import WeChatPayClient

log = structlog.get_logger(__name__)
SUCCEEDED, PROCESSING, FAILED = "succeeded", "processing", "failed"
WECHATPAY_OUTCOMES = {"SUCCESS": SUCCEEDED, "PROCESSING": PROCESSING, "ABNORMAL": FAILED, "CLOSED": FAILED}
REFUND_OUTCOMES = {"SUCCESS": RefundState.REFUNDED, "ABNORMAL": RefundState.FAILED, "CLOSED": RefundState.FAILED}
_LATE_STATES = {SUCCEEDED: RefundState.REFUNDED, PROCESSING: RefundState.PROCESSING, FAILED: RefundState.FAILED}


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    """What the provider says of one refund: `state` is succeeded | processing | failed; `accepted_at` is when the
    provider took it (WeChat Pay create_time, Alipay gmt_refund_pay), for reconciliation."""

    state: str
    provider_refund_id: str | None = None
    detail: str | None = None
    accepted_at: datetime | None = None


@dataclass
class RefundDesk:
    wechatpay: WeChatPayClient
    alipay: AlipayClient

    async def send(self, *, channel: str, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
                   reason: str) -> ProviderRefund:
        """Ask for the refund (again: the same number is the same refund). ProviderUnavailable / Rejected."""
        if channel == Channel.WECHATPAY:
            answer = await self.wechatpay.refund(out_trade_no=out_trade_no, out_refund_no=out_refund_no,
                                                 refund_fen=refund_fen, total_fen=total_fen, reason=reason[:80])
            return ProviderRefund(WECHATPAY_OUTCOMES.get(answer.status, PROCESSING), answer.refund_id, answer.status,
                                  answer.create_time)
        result = await self.alipay.refund(out_trade_no=out_trade_no, out_request_no=out_refund_no,
                                          refund_fen=refund_fen, reason=reason)
        try:
            confirmed = await self.query(channel=channel, out_trade_no=out_trade_no, out_refund_no=out_refund_no,
                                         refund_fen=refund_fen)
        except ProviderUnavailable as exc:  # accepted; the sweep asks again
            log.info("payment_refund_query_deferred", out_refund_no=out_refund_no, code=exc.code)
            return ProviderRefund(PROCESSING, result.trade_no, "ACCEPTED", result.gmt_refund_pay)
        return ProviderRefund(confirmed.state, result.trade_no, confirmed.detail, result.gmt_refund_pay)

    async def query(self, *, channel: str, out_trade_no: str, out_refund_no: str, refund_fen: int) -> ProviderRefund:
        """The refund's state at the provider. ProviderUnavailable when it does not answer; TradeNotFound when
        WeChat Pay knows no such refund."""
        if channel == Channel.WECHATPAY:
            answer = await self.wechatpay.query_refund(out_refund_no)
            if answer.out_trade_no != out_trade_no or answer.amount.refund != refund_fen:
                raise CallbackRejected(channel, "refund_mismatch", out_refund_no[:64])
            return ProviderRefund(WECHATPAY_OUTCOMES.get(answer.status, PROCESSING), answer.refund_id, answer.status)
        status = await self.alipay.query_refund(out_trade_no=out_trade_no, out_request_no=out_refund_no)
        if not status.refunded:
            return ProviderRefund(PROCESSING, None, status.refund_status or "NOT_YET")
        if status.refund_fen != refund_fen:
            raise CallbackRejected(channel, "refund_mismatch", out_refund_no[:64])
        return ProviderRefund(SUCCEEDED, None, "REFUND_SUCCESS")


# Why late money could not pay its bill (the order's `late_reason`), as the payer is told.
LATE_REASONS = {"bill_paid_by_another_order": "该账单已由另一笔付款缴清", "bill_cancelled": "该账单已取消",
                "order_closed": "该订单已关闭", "order_failed": "该订单已支付失败"}


@dataclass
class LateRefundNotice:
    """The refund of late money settled: its state and the payer's `payment.returned` event in one transaction."""

    tx: Transactions
    bills: BillRepository
    outbox: OutboxRepository

    async def settle(self, orders: OrderRepository, order_id: str, from_state: RefundState,
                     changes: dict[str, Any]) -> dict[str, Any] | None:
        async def work(session: AsyncClientSession) -> dict[str, Any] | None:
            order = await orders.set_refund(order_id, from_state, changes, session=session)
            if order is None:
                return None
            now, refund = bson_time(), order["refund"]
            bill = await self.bills.get(order["bill_id"], session=session) or {}
            await self.outbox.add(OutboxEvent(
                topic="payment.returned", key=f"order:{order_id}:returned:{refund['out_refund_no']}",
                recipients=(Recipient("person", order["person_id"]),),
                data={"bill_id": order["bill_id"], "bill_name": (bill.get("item") or {}).get("name") or order["description"],
                      "student_name": bill.get("student_name") or "—", "amount_fen": refund["amount_fen"],
                      "refund_no": refund["out_refund_no"], "order_id": order_id,
                      "reason_label": LATE_REASONS.get(order.get("late_reason") or "", "该订单已不能缴费"),
                      "settled_at": now.isoformat()},
                subject={"kind": "bill", "id": order["bill_id"]}), session=session, now=now)
            return order

        return await self.tx.run(work)


@dataclass
class Refunder:
    orders: OrderRepository
    desk: RefundDesk
    query_after: timedelta = timedelta(minutes=5)
    notice: LateRefundNotice | None = None  # tells the payer when the money is back

    async def carry_out(self, order_id: str) -> str | None:
        """Send the order's requested refund to its provider; the refund's state after, None if none was due."""
        order = await self.orders.get(order_id)
        refund = (order or {}).get("refund") or {}
        if order is None or refund.get("state") != RefundState.REQUESTED:
            return None
        try:
            answer = await self.desk.send(channel=order["channel"], out_trade_no=order["out_trade_no"],
                                          out_refund_no=refund["out_refund_no"], refund_fen=refund["amount_fen"],
                                          total_fen=order["amount_fen"], reason=refund["reason"])
        except ProviderUnavailable as exc:
            log.warning("payment_refund_deferred", order_id=order_id, code=exc.code)
            return RefundState.REQUESTED.value
        except ProviderRejected as exc:
            log.error("payment_refund_refused", order_id=order_id, code=exc.code, channel=order["channel"])
            await self._move(order_id, RefundState.REQUESTED, RefundState.FAILED, detail=exc.code, source="provider",
                             message=exc.message[:200])
            return RefundState.FAILED.value
        state = _LATE_STATES[answer.state]
        await self._move(order_id, RefundState.REQUESTED, state, provider_refund_id=answer.provider_refund_id,
                         detail=answer.detail, accepted_at=bson_time(answer.accepted_at))
        log.info("payment_refund_sent", order_id=order_id, state=state.value, channel=order["channel"])
        return state.value

    async def check(self, order: dict[str, Any], now: datetime) -> str | None:
        """The sweep: ask the provider about a refund processing for longer than `query_after`; its state after
        (None: not due yet, or the provider did not answer)."""
        refund = order.get("refund") or {}
        sent = refund.get("updated_at")
        if refund.get("state") != RefundState.PROCESSING or sent is None or sent > now - self.query_after:
            return None
        try:
            answer = await self.desk.query(channel=order["channel"], out_trade_no=order["out_trade_no"],
                                           out_refund_no=refund["out_refund_no"], refund_fen=refund["amount_fen"])
        except (ProviderUnavailable, ProviderRejected, CallbackRejected) as exc:
            log.warning("payment_refund_query_failed", order_id=order["_id"], error=type(exc).__name__)
            return None
        if answer.state == PROCESSING:
            return RefundState.PROCESSING.value
        state = _LATE_STATES[answer.state]
        if await self._move(order["_id"], RefundState.PROCESSING, state, detail=answer.detail,
                            source="query") is not None:
            (log.error if state is RefundState.FAILED else log.info)(
                "payment_refund_settled", order_id=order["_id"], state=state.value, source="query")
        return state.value

    async def refund_notice(self, out_trade_no: str, out_refund_no: str, status: str, refund_fen: int) -> bool:
        """A verified WeChat Pay REFUND.* notice: settle our refund. False when it is a duplicate (no change);
        CallbackRejected when the refund is not one of ours. A notice of an earlier attempt, replaced when school
        finance tried the refund again (it failed for good), is a duplicate: that attempt's outcome is recorded."""
        order = await self.orders.get(out_trade_no)
        refund = (order or {}).get("refund") or {}
        earlier = {(a.get("out_refund_no"), a.get("amount_fen")) for a in (order or {}).get("refund_attempts") or []}
        if (out_refund_no, refund_fen) in earlier:
            log.info("payment_refund_duplicate", order_id=out_trade_no, out_refund_no=out_refund_no, status=status)
            return False
        if order is None or refund.get("out_refund_no") != out_refund_no or refund.get("amount_fen") != refund_fen:
            raise CallbackRejected(Channel.WECHATPAY.value, "unknown_refund", out_refund_no[:64])
        target = REFUND_OUTCOMES.get(status)
        if target is None:
            raise CallbackRejected(Channel.WECHATPAY.value, "unknown_refund_status", status[:20])
        for current in (RefundState.PROCESSING, RefundState.REQUESTED):
            if await self._move(out_trade_no, current, target, detail=status, source="callback") is not None:
                emit = log.error if target is RefundState.FAILED else log.info
                emit("payment_refund_settled", order_id=out_trade_no, state=target.value)
                return True
        return False

    async def _move(self, order_id: str, from_state: RefundState, target: RefundState,
                    **fields: Any) -> dict[str, Any] | None:
        changes: dict[str, Any] = {"refund.state": target.value, "refund.updated_at": bson_time()}
        changes.update({f"refund.{name}": value for name, value in fields.items()})
        if target is RefundState.REFUNDED and self.notice is not None:
            return await self.notice.settle(self.orders, order_id, from_state, changes)
        return await self.orders.set_refund(order_id, from_state, changes)
