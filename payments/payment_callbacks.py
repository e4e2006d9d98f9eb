"""Provider callbacks, HTTP-free: raw request in, (accepted?, reason) out, the state change applied once.

WeChat Pay (`wechatpay`): the adapter's verifier checks headers, our public key id as serial, the timestamp
(±5 min), the SHA256withRSA signature over the RAW body, decrypts the AES-256-GCM resource and checks mchid
and appid; then a TRANSACTION.SUCCESS is settled against the order (out_trade_no, appid, amount) and a
REFUND.* notice settles our refund. Alipay (`alipay`): the form is parsed strictly (a parameter twice is
refused), RSA2 verified over the sorted parameters, app_id and seller_id checked; TRADE_SUCCESS /
TRADE_FINISHED are settled against the order (out_trade_no, total_amount); any other status, and the echo of
a refund, is acknowledged without a change. A REFUND.* notice goes to the refunds school finance asked for
(payments/refund_settlement.py, found by out_refund_no) or else to the automatic refunds of late money.

Every refusal is logged once here (`payment_callback_rejected`, provider and reason; never a body, key,
signature or payer id). A duplicate is accepted (the provider must stop resending) and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from payments.alipay import AlipayClient
from payments.alipay_notify import form_from_body
from payments.errors import CallbackRejected
from payments.order_refunds import Refunder
from payments.order_settlement import Outcome, Paid, Settlement
from payments.refund_settlement import RefundSettlement
from payments.wechatpay import WeChatPayClient

log = structlog.get_logger(__name__)
Headers = Mapping[str, str] | Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class CallbackResult:
    accepted: bool
    reason: str  # the outcome, or why it was refused
    status: int = 200


@dataclass
class PaymentCallbacks:
    wechatpay: WeChatPayClient
    alipay: AlipayClient
    settlement: Settlement
    refunder: Refunder
    refund_settlement: RefundSettlement | None = None
    _background: set[asyncio.Task[object]] = field(default_factory=set)

    async def wechatpay_notify(self, headers: Headers, body: bytes) -> CallbackResult:
        try:
            notice = self.wechatpay.verify_callback(headers, body)
            if notice.transaction is not None:
                transaction = notice.transaction
                if not transaction.paid or transaction.amount is None or not transaction.transaction_id:
                    raise CallbackRejected("wechatpay", "not_paid", transaction.trade_state[:20])
                outcome = await self.settlement.settle(Paid(
                    provider="wechatpay", out_trade_no=transaction.out_trade_no,
                    transaction_id=transaction.transaction_id, amount_fen=transaction.amount.total,
                    source="callback", paid_at=transaction.success_time, appid=transaction.appid,
                    notice_id=notice.id))
                self._after(outcome, transaction.out_trade_no)
                return CallbackResult(True, outcome.value)
            assert notice.refund is not None
            refund = notice.refund
            changed = await self.refund_settlement.notice(refund) if self.refund_settlement else None
            if changed is None:
                changed = await self.refunder.refund_notice(refund.out_trade_no, refund.out_refund_no,
                                                            refund.refund_status, refund.amount.refund)
            return CallbackResult(True, "refund_settled" if changed else "duplicate")
        except CallbackRejected as exc:
            return self._rejected(exc, 401 if exc.reason in _AUTH_REASONS else 400)

    async def alipay_notify(self, body: bytes) -> CallbackResult:
        try:
            notice = self.alipay.verify_notify(form_from_body(body))
            if not notice.paid:
                log.info("payment_callback_ignored", provider="alipay", order_id=notice.out_trade_no[:64],
                         trade_status=notice.trade_status[:20], refund=notice.is_refund)
                return CallbackResult(True, "not_a_payment")
            outcome = await self.settlement.settle(Paid(
                provider="alipay", out_trade_no=notice.out_trade_no, transaction_id=notice.trade_no,
                amount_fen=notice.total_fen, source="callback", paid_at=notice.gmt_payment,
                notice_id=notice.notify_id))
            self._after(outcome, notice.out_trade_no)
            return CallbackResult(True, outcome.value)
        except CallbackRejected as exc:
            return self._rejected(exc, 400)

    def _rejected(self, exc: CallbackRejected, status: int) -> CallbackResult:
        log.warning("payment_callback_rejected", provider=exc.provider, reason=exc.reason, detail=exc.detail[:120])
        return CallbackResult(False, exc.reason, status)

    def _after(self, outcome: Outcome, order_id: str) -> None:
        """A refund decided by this callback is sent in the background: the provider gets its answer now."""
        if outcome is Outcome.REFUND:
            task: asyncio.Task[object] = asyncio.get_running_loop().create_task(self._refund(order_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _refund(self, order_id: str) -> None:
        try:
            await self.refunder.carry_out(order_id)
        except Exception:  # the sweep sends it again; never lose the log line
            log.exception("payment_refund_not_sent", order_id=order_id)


_AUTH_REASONS = frozenset({"missing_headers", "unsupported_signature_type", "wrong_serial", "bad_timestamp",
                           "stale_timestamp", "bad_signature", "decrypt_failed"})
