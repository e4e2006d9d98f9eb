"""An open order at its provider: what the provider says about it, and closing it there and here.

One dialogue shared by the sweep (payments/order_sweep.py: orders nobody settled) and a parent's new order
(payments/order_service.py: the payer's older open orders of the bill are closed first). Closing goes to the
provider FIRST, so nobody can pay the order any more, and only then here. A provider that refuses the close
because the money already arrived (WeChat Pay ORDERPAID, Alipay ACQ.TRADE_STATUS_ERROR) is asked again and the
payment is settled by `Settlement.settle`, exactly as a callback would settle it; a provider that does not
answer raises ProviderUnavailable and the order stays open (the sweep asks again later).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from payments.alipay import AlipayClient
from payments.errors import ProviderRejected, ProviderUnavailable, TradeNotFound
from payments.order_settlement import Paid, Settlement
from payments.orders import Channel
from payments.wechatpay import WeChatPayClient

log = structlog.get_logger(__name__)
UNPAID, GONE, FAILED = "unpaid", "gone", "failed"  # what `facts` says, when not Paid
CLOSED, NOT_OPEN = "closed", "not_open"  # what `close` did, when the order was not paid after all


@dataclass
class ProviderOrders:
    settlement: Settlement
    wechatpay: WeChatPayClient
    alipay: AlipayClient

    async def facts(self, order: dict[str, Any], now: datetime) -> Paid | str:
        """Paid (to settle), UNPAID (open there), GONE (closed or revoked there, or never opened and expired) or
        FAILED (WeChat Pay PAYERROR). Raises ProviderUnavailable, and CallbackRejected from settling."""
        try:
            if order["channel"] == Channel.WECHATPAY:
                transaction = await self.wechatpay.query(order["out_trade_no"])
                if transaction.paid and transaction.amount is not None and transaction.transaction_id:
                    return Paid("wechatpay", order["out_trade_no"], transaction.transaction_id,
                                transaction.amount.total, "query", transaction.success_time, transaction.appid)
                if transaction.trade_state == "PAYERROR":
                    return FAILED
                return GONE if transaction.trade_state in ("CLOSED", "REVOKED") else UNPAID
            trade = await self.alipay.query(order["out_trade_no"])
            if trade.paid:
                return Paid("alipay", order["out_trade_no"], trade.trade_no, trade.total_fen, "query",
                            trade.send_pay_date)
            return GONE if trade.trade_status == "TRADE_CLOSED" else UNPAID
        except TradeNotFound:
            return GONE if now >= order["expires_at"] or order["state"] == "created" else UNPAID

    async def close(self, order: dict[str, Any], now: datetime, reason: str) -> str:
        """Close the order at its provider, then here (`reason`): CLOSED, or NOT_OPEN when it was no longer
        open here meanwhile. When the provider refuses because it was paid, the settlement's outcome instead
        (`applied`, `duplicate`, `refund_requested`)."""
        try:
            await self.close_at_provider(order)
        except ProviderRejected as exc:  # paid between whatever we knew and our close
            log.info("payment_close_refused", order_id=order["_id"], code=exc.code)
            again = await self.facts(order, now)
            if isinstance(again, Paid):
                return (await self.settlement.settle(again)).value
            if again != GONE:
                raise ProviderUnavailable(order["channel"], exc.code, "close refused, not paid") from None
        closed = await self.settlement.close(order["_id"], reason)
        return CLOSED if closed is not None else NOT_OPEN

    async def close_at_provider(self, order: dict[str, Any]) -> None:
        """Stop the trade from being paid. A trade the provider does not know (a WAP page never opened, a prepay
        that never arrived) needs no closing: TradeNotFound is not an error here."""
        try:
            if order["channel"] == Channel.WECHATPAY:
                await self.wechatpay.close(order["out_trade_no"])
            else:
                await self.alipay.close(order["out_trade_no"])
        except TradeNotFound:
            return
