"""Automatic refunds of money that arrived for an order that cannot be paid (payments/order_settlement.py).

The decision is recorded first (`refund.state = requested`, in the settlement's transaction); this module
carries it to the provider, at once (in the background of the callback that found it) and again from the
sweep until the provider has accepted it:

- WeChat Pay: `refund` with out_refund_no `R<order id>` (the same number on every retry, so the provider
  makes at most one refund) → `processing`, settled by the REFUND.* callback (`refund_notice`) or a query;
- Alipay: `alipay.trade.refund` is synchronous → `refunded`.

A provider that is unavailable leaves the refund `requested` for the next sweep; one that refuses marks it
`failed` with the provider's code and logs an error: a person must look. Refunds that school finance asks
for (full or partial, with a second approver) are a later slice of issue 8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from core.clock import bson_time
from payments.alipay import AlipayClient
from payments.errors import CallbackRejected, ProviderRejected, ProviderUnavailable
from payments.orders import Channel, OrderRepository, RefundState
from payments.wechatpay import WeChatPayClient

log = structlog.get_logger(__name__)
REFUND_OUTCOMES = {"SUCCESS": RefundState.REFUNDED, "ABNORMAL": RefundState.FAILED, "CLOSED": RefundState.FAILED}


@dataclass
class Refunder:
    orders: OrderRepository
    wechatpay: WeChatPayClient
    alipay: AlipayClient

    async def carry_out(self, order_id: str) -> str | None:
        """Send the order's requested refund to its provider; the refund's state after, None if none was due."""
        order = await self.orders.get(order_id)
        refund = (order or {}).get("refund") or {}
        if order is None or refund.get("state") != RefundState.REQUESTED:
            return None
        try:
            if order["channel"] == Channel.WECHATPAY:
                answer = await self.wechatpay.refund(
                    out_trade_no=order["out_trade_no"], out_refund_no=refund["out_refund_no"],
                    refund_fen=refund["amount_fen"], total_fen=order["amount_fen"], reason=refund["reason"][:80])
                state = RefundState.REFUNDED if answer.status == "SUCCESS" else RefundState.PROCESSING
                provider_id: str | None = answer.refund_id
            else:
                result = await self.alipay.refund(out_trade_no=order["out_trade_no"],
                                                  out_request_no=refund["out_refund_no"],
                                                  refund_fen=refund["amount_fen"], reason=refund["reason"])
                state, provider_id = RefundState.REFUNDED, result.trade_no
        except ProviderUnavailable as exc:
            log.warning("payment_refund_deferred", order_id=order_id, code=exc.code)
            return RefundState.REQUESTED.value
        except ProviderRejected as exc:
            log.error("payment_refund_refused", order_id=order_id, code=exc.code, channel=order["channel"])
            await self._move(order_id, RefundState.REQUESTED, RefundState.FAILED, detail=exc.code)
            return RefundState.FAILED.value
        await self._move(order_id, RefundState.REQUESTED, state, provider_refund_id=provider_id)
        log.info("payment_refund_sent", order_id=order_id, state=state.value, channel=order["channel"])
        return state.value

    async def refund_notice(self, out_trade_no: str, out_refund_no: str, status: str, refund_fen: int) -> bool:
        """A verified WeChat Pay REFUND.* notice: settle our refund. False when it is a duplicate (no change);
        CallbackRejected when the refund is not one of ours."""
        order = await self.orders.get(out_trade_no)
        refund = (order or {}).get("refund") or {}
        if order is None or refund.get("out_refund_no") != out_refund_no or refund.get("amount_fen") != refund_fen:
            raise CallbackRejected(Channel.WECHATPAY.value, "unknown_refund", out_refund_no[:64])
        target = REFUND_OUTCOMES.get(status)
        if target is None:
            raise CallbackRejected(Channel.WECHATPAY.value, "unknown_refund_status", status[:20])
        for source in (RefundState.PROCESSING, RefundState.REQUESTED):
            if await self._move(out_trade_no, source, target, detail=status) is not None:
                emit = log.error if target is RefundState.FAILED else log.info
                emit("payment_refund_settled", order_id=out_trade_no, state=target.value)
                return True
        return False

    async def _move(self, order_id: str, source: RefundState, target: RefundState, **fields: Any) -> dict[str, Any] | None:
        changes: dict[str, Any] = {"refund.state": target.value, "refund.updated_at": bson_time()}
        changes.update({f"refund.{name}": value for name, value in fields.items()})
        return await self.orders.set_refund(order_id, source, changes)
