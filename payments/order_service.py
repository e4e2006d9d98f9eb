"""Creating and reading a parent's payment orders (the API side of payments/orders.py).

`create` takes an `Idempotency-Key`: the same key and body answer the same order again (its client parameters
signed afresh), another body is 422, a concurrent duplicate 409 (core/idempotency.py). Without a key every
call is a new attempt. Only a guardian linked to the bill's student may pay it (`Bills.for_payer`: a resident
gets 404 for another family's bill, like a missing one); the bill must be unpaid.

The order is stored `created` before the provider is called. A provider that does not answer leaves it
`created` (503 to the client; the sweep queries and settles or closes it), one that refuses makes it
`failed`; on success it is `paying` with what the phone needs:
- wechatpay: the `wx.requestPayment` parameters signed with the merchant key, for the payer's mini-program
  openid (or, without one, their official-account openid and the official account's appid: JSAPI in the
  WeChat browser). The order expires at the provider too (`time_expire`).
- alipay, mini-program (`alipay_open_id` given): `alipay.trade.create` → `trade_no` for `my.tradePay`;
- alipay, WAP (no open id): the signed gateway URL the H5 page sends the browser to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field
from pymongo.errors import DuplicateKeyError

from accounts import errors as AE
from accounts.people import PersonRepository
from accounts.scopes import Action, Actor
from core.clock import bson_time
from core.errors import AppError
from core.idempotency import IdempotencyRepository, StoredAnswer, fingerprint
from core.ids import new_id
from payments import fee_errors as FE
from payments import order_errors as OE
from payments.alipay import AlipayClient
from payments.bill_service import Bills
from payments.bills import BILL_STATE_LABELS, BillState
from payments.errors import ProviderRejected, ProviderUnavailable
from payments.order_settlement import Settlement
from payments.orders import Channel, OrderRepository, OrderState, new_order
from payments.wechatpay import WeChatPayClient

log = structlog.get_logger(__name__)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Literal["wechatpay", "alipay"] = Field(description="wechatpay 微信支付（小程序/公众号 JSAPI）；alipay 支付宝")
    alipay_open_id: str | None = Field(None, min_length=1, max_length=128,
                                       description="支付宝小程序中付款人的 open_id；不填则为支付宝网页支付（WAP）")
    return_url: str | None = Field(None, max_length=512, pattern=r"^https?://",
                                   description="支付宝网页支付完成后返回的页面（可选）")


@dataclass(frozen=True, slots=True)
class ClientParams:
    """What the phone needs to pay: exactly one of these is set, by channel and mode."""

    request_payment: dict[str, str] | None = None  # wx.requestPayment
    alipay_trade_no: str | None = None  # my.tradePay({tradeNO})
    alipay_pay_url: str | None = None  # H5: location.href


@dataclass
class PaymentOrders:
    orders: OrderRepository
    bills: Bills
    people: PersonRepository
    idempotency: IdempotencyRepository
    settlement: Settlement
    wechatpay: WeChatPayClient
    alipay: AlipayClient
    oa_appid: str
    ttl: timedelta = timedelta(minutes=30)

    async def create(self, actor: Actor, bill_id: str, body: OrderIn, *, idempotency_key: str | None,
                     raw: bytes) -> tuple[dict[str, Any], ClientParams, bool]:
        """(order, client parameters, created now)."""
        assert actor.person_id is not None
        scope = f"payment-order:{actor.person_id}"
        if idempotency_key:
            stored = await self.idempotency.claim(scope, idempotency_key, fingerprint("POST", f"bill:{bill_id}", raw))
            if stored is not None:
                order = await self.own(actor, stored.body["order_id"])
                return order, await self.client_params(order, body), False
        try:
            order, params = await self._create(actor, bill_id, body)
        except BaseException:
            if idempotency_key:
                await self.idempotency.release(scope, idempotency_key)
            raise
        if idempotency_key:
            await self.idempotency.complete(scope, idempotency_key, StoredAnswer(201, {"order_id": order["_id"]}))
        return order, params, True

    async def own(self, actor: Actor, order_id: str) -> dict[str, Any]:
        """The order when it is the actor's own; 404 like a missing one otherwise."""
        order = await self.orders.get(order_id)
        if order is None or order["person_id"] != actor.person_id:
            raise AppError(AE.RESOURCE_NOT_FOUND)
        return order

    async def _create(self, actor: Actor, bill_id: str, body: OrderIn) -> tuple[dict[str, Any], ClientParams]:
        bill = await self.bills.for_payer(actor, bill_id, Action.ACT)
        if bill["state"] != BillState.UNPAID:
            state = BillState(bill["state"])
            raise AppError(FE.BILL_STATE_CONFLICT, errmsg=f"账单{BILL_STATE_LABELS[state]}，无需支付",
                           extra={"state": state.value})
        channel = Channel(body.channel)
        payer, appid, mode = await self._payer(actor.person_id or "", channel, body)
        order = await self._insert(bill, actor.person_id or "", channel, mode, appid)
        try:
            provider, params = await self._open_at_provider(order, payer, body)
        except ProviderUnavailable as exc:
            log.warning("payment_order_provider_unavailable", order_id=order["_id"], code=exc.code)
            raise AppError(OE.PAYMENT_PROVIDER_UNAVAILABLE) from None
        except ProviderRejected as exc:
            log.warning("payment_order_provider_rejected", order_id=order["_id"], code=exc.code)
            await self.settlement.close(order["_id"], f"provider_rejected:{exc.code}", failed=True)
            raise AppError(OE.PAYMENT_PROVIDER_REJECTED) from None
        paying = await self.orders.transition(order["_id"], (OrderState.CREATED.value,), OrderState.PAYING,
                                              {"provider": provider, "updated_at": bson_time()})
        log.info("payment_order_created", order_id=order["_id"], bill_id=bill_id, channel=channel.value, mode=mode,
                 attempt=order["attempt"], amount_fen=order["amount_fen"])
        return paying or await self.orders.get(order["_id"]) or order, params

    async def _payer(self, person_id: str, channel: Channel, body: OrderIn) -> tuple[str | None, str, str]:
        """(payer id at the provider, appid, mode)."""
        if channel is Channel.ALIPAY:
            if body.alipay_open_id:
                return body.alipay_open_id, self.alipay.app_id, "mini"
            return None, self.alipay.app_id, "wap"
        person = await self.people.get(person_id)
        if person is not None and person.mp_openid:
            return person.mp_openid, self.wechatpay.appid, "jsapi"
        if person is not None and person.oa_openid:
            return person.oa_openid, self.oa_appid, "jsapi"
        raise AppError(OE.ORDER_PAYER_UNKNOWN)

    async def _insert(self, bill: dict[str, Any], person_id: str, channel: Channel, mode: str,
                      appid: str) -> dict[str, Any]:
        for _ in range(5):  # two attempts counted at once: the unique (bill, attempt) sends one round again
            attempt = await self.orders.attempts_of(bill["_id"]) + 1
            doc = new_order(order_id=new_id(), bill=bill, person_id=person_id, channel=channel, mode=mode,
                            appid=appid, attempt=attempt, now=bson_time(), ttl=self.ttl)
            try:
                await self.orders.insert(doc)
                return doc
            except DuplicateKeyError:
                continue
        raise AppError(OE.PAYMENT_PROVIDER_UNAVAILABLE)

    async def _open_at_provider(self, order: dict[str, Any], payer: str | None,
                                body: OrderIn) -> tuple[dict[str, Any], ClientParams]:
        if order["channel"] == Channel.WECHATPAY:
            assert payer is not None
            prepay = await self.wechatpay.prepay(
                out_trade_no=order["out_trade_no"], description=order["description"], amount_fen=order["amount_fen"],
                payer_openid=payer, expires_at=order["expires_at"], attach=order["bill_id"],
                appid=order["appid"] if order["appid"] != self.wechatpay.appid else None)
            return {"prepay_id": prepay.prepay_id}, ClientParams(request_payment=prepay.request_payment.as_dict())
        if order["mode"] == "mini":
            created = await self.alipay.create_trade(out_trade_no=order["out_trade_no"], amount_fen=order["amount_fen"],
                                                     subject=order["description"], buyer_open_id=payer,
                                                     expires_at=order["expires_at"])
            return {"trade_no": created.trade_no}, ClientParams(alipay_trade_no=created.trade_no)
        url = await self._wap_url(order, body)
        return {"wap": True}, ClientParams(alipay_pay_url=url)

    async def _wap_url(self, order: dict[str, Any], body: OrderIn) -> str:
        return await self.alipay.wap_pay_url(out_trade_no=order["out_trade_no"], amount_fen=order["amount_fen"],
                                             subject=order["description"], return_url=body.return_url,
                                             expires_at=order["expires_at"])

    async def client_params(self, order: dict[str, Any], body: OrderIn) -> ClientParams:
        """The phone's parameters for an order being paid (a retried request): signed again, same trade."""
        if order["state"] != OrderState.PAYING:
            return ClientParams()
        provider = order.get("provider") or {}
        if order["channel"] == Channel.WECHATPAY and provider.get("prepay_id"):
            appid = order["appid"] if order["appid"] != self.wechatpay.appid else None
            return ClientParams(request_payment=self.wechatpay.request_payment(provider["prepay_id"],
                                                                               appid=appid).as_dict())
        if provider.get("trade_no"):
            return ClientParams(alipay_trade_no=provider["trade_no"])
        return ClientParams(alipay_pay_url=await self._wap_url(order, body))
