"""Creating and reading a parent's payment orders (the API side of payments/orders.py).

`create` takes an `Idempotency-Key`: the same key and body answer the same order again (its client parameters
signed afresh), another body is 422, a concurrent duplicate 409 (core/idempotency.py). Without a key every
call is a new attempt. Only a guardian linked to the bill's student may pay it (`Bills.for_payer`: a resident
gets 404 for another family's bill, like a missing one); the bill must be unpaid.

A new attempt replaces the payer's older open orders of the bill (the phone lost them: the app restarted):
they are closed at their providers first, then here (`superseded`), so the parent cannot pay twice. When a
provider refuses that close because the older order was paid meanwhile, that payment is settled (the same
query and `Settlement` as the sweep, payments/order_closing.py) and the answer is 409 `BILL_STATE_CONFLICT`,
the bill now paid. A provider that does not answer the close leaves that older order open (the sweep closes
it after it expires, and money paid for it is refunded automatically) and the new order is still made:
paying must not wait for a provider that may be down for the older order only.

The order is stored `created` before the provider is called. A provider that does not answer leaves it
`created` (503 to the client; the sweep queries and settles or closes it), one that refuses makes it
`failed`; on success it is `paying` with what the phone needs:
- wechatpay: the `wx.requestPayment` parameters signed with the merchant key, for the payer's mini-program
  openid (or, without one, their official-account openid and the official account's appid: JSAPI in the
  WeChat browser). The order expires at the provider too (`time_expire`).
- alipay, mini-program (`alipay_mode` "mini"): `alipay.trade.create` for the Alipay identity the person linked
  by Alipay login (payments/alipay_login.py) → `trade_no` for `my.tradePay`. An `alipay_open_id` in the body
  (older clients) must be that same linked id: the client's word alone proves nothing.
- alipay, WAP (the default): the signed gateway URL the H5 page sends the browser to. The server cannot tell a
  browser from the mini-program, so a linked identity never turns an H5 payment into a mini-program one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, model_validator
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
from payments.errors import CallbackRejected, PaymentProviderError, ProviderRejected, ProviderUnavailable
from payments.order_closing import CLOSED, ProviderOrders
from payments.order_settlement import Settlement
from payments.orders import Channel, OrderRepository, OrderState, new_order
from payments.wechatpay import WeChatPayClient

log = structlog.get_logger(__name__)
SUPERSEDED = "superseded"  # closed_reason of an order a newer one of the same payer replaced


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Literal["wechatpay", "alipay"] = Field(description="wechatpay 微信支付（小程序/公众号 JSAPI）；alipay 支付宝")
    alipay_mode: Literal["mini", "wap"] | None = Field(
        None, description="支付宝：mini 支付宝小程序（付款人为已通过支付宝授权关联的账号，见 POST /api/v1/me/alipay）；"
        "wap 网页支付（默认）")
    alipay_open_id: str | None = Field(None, min_length=1, max_length=128,
                                       description="（旧版客户端）付款人的支付宝 open_id，须与已关联的一致；给出即为小程序支付")
    return_url: str | None = Field(None, max_length=512, pattern=r"^https?://",
                                   description="支付宝网页支付完成后返回的页面（可选）")

    @model_validator(mode="after")
    def _one_mode(self) -> OrderIn:
        if self.alipay_open_id and self.alipay_mode == "wap":
            raise ValueError("alipay_open_id 只用于支付宝小程序支付（alipay_mode 为 mini）")
        return self

    @property
    def alipay_mini(self) -> bool:
        return self.alipay_mode == "mini" or bool(self.alipay_open_id)


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
    provider: ProviderOrders  # query and close at the providers (payments/order_closing.py)
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
            raise _not_payable(bill)
        channel = Channel(body.channel)
        payer, appid, mode = await self._payer(actor.person_id or "", channel, body)
        await self._close_older(actor, bill)
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
        if paying is None:
            paying = await self._not_paying(order)
        log.info("payment_order_created", order_id=order["_id"], bill_id=bill_id, channel=channel.value, mode=mode,
                 attempt=order["attempt"], amount_fen=order["amount_fen"])
        return paying or order, params

    async def _payer(self, person_id: str, channel: Channel, body: OrderIn) -> tuple[dict[str, str], str, str]:
        """(the payer as the provider call names it, appid, mode)."""
        if channel is Channel.ALIPAY and not body.alipay_mini:
            return {}, self.alipay.app_id, "wap"
        person = await self.people.get(person_id)
        if channel is Channel.ALIPAY:
            linked = (person.alipay_open_id or person.alipay_user_id) if person is not None else None
            if person is None or not linked:
                raise AppError(OE.ALIPAY_BUYER_REQUIRED)
            if body.alipay_open_id and body.alipay_open_id != linked:
                raise AppError(OE.ALIPAY_BUYER_MISMATCH)
            buyer = {"buyer_open_id": person.alipay_open_id} if person.alipay_open_id else \
                {"buyer_id": person.alipay_user_id or ""}
            return buyer, self.alipay.app_id, "mini"
        if person is not None and person.mp_openid:
            return {"payer_openid": person.mp_openid}, self.wechatpay.appid, "jsapi"
        if person is not None and person.oa_openid:
            return {"payer_openid": person.oa_openid}, self.oa_appid, "jsapi"
        raise AppError(OE.ORDER_PAYER_UNKNOWN)

    async def _close_older(self, actor: Actor, bill: dict[str, Any]) -> None:
        """Close the payer's older open orders of the bill, at their providers first (module docstring); 409
        when one of them turns out paid."""
        older = await self.orders.open_of_payer(bill["_id"], actor.person_id or "")
        if not older:
            return
        now = bson_time()
        outcomes = await asyncio.gather(*(self._supersede(order, now) for order in older))
        if all(outcome in (CLOSED, None) for outcome in outcomes):
            return
        fresh = await self.bills.for_payer(actor, bill["_id"], Action.ACT)
        if fresh["state"] != BillState.UNPAID:
            paid_by = (fresh.get("payment") or {}).get("order_id")
            raise _not_payable(fresh, paid_order_id=paid_by if paid_by in {o["_id"] for o in older} else None)

    async def _supersede(self, order: dict[str, Any], now: datetime) -> str | None:
        """One older order closed (CLOSED), or the settlement's outcome when it was paid; None when the provider
        does not answer (the order stays open: the sweep closes it)."""
        try:
            outcome = await self.provider.close(order, now, SUPERSEDED)
        except ProviderUnavailable as exc:
            log.warning("payment_order_supersede_unavailable", order_id=order["_id"], code=exc.code)
            return None
        except CallbackRejected as exc:  # the provider's answer disagrees with the order: a person looks
            log.error("payment_order_supersede_mismatch", order_id=order["_id"], reason=exc.reason)
            return None
        log.info("payment_order_superseded", order_id=order["_id"], outcome=outcome)
        return outcome

    async def _not_paying(self, order: dict[str, Any]) -> dict[str, Any] | None:
        """The order left `created` while the provider opened it: paid by a fast callback (fine), or closed by a
        newer order of the same payer — then the trade just opened is closed again and the answer is 409."""
        current = await self.orders.get(order["_id"])
        if current is None or current.get("closed_reason") != SUPERSEDED:
            return current
        try:
            await self.provider.close_at_provider(current)
        except PaymentProviderError as exc:  # it expires there (time_expire); money for it is refunded as late
            log.warning("payment_order_superseded_open_at_provider", order_id=order["_id"], code=exc.code)
        raise AppError(OE.ORDER_SUPERSEDED)

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

    async def _open_at_provider(self, order: dict[str, Any], payer: dict[str, str],
                                body: OrderIn) -> tuple[dict[str, Any], ClientParams]:
        if order["channel"] == Channel.WECHATPAY:
            prepay = await self.wechatpay.prepay(
                out_trade_no=order["out_trade_no"], description=order["description"], amount_fen=order["amount_fen"],
                payer_openid=payer["payer_openid"], expires_at=order["expires_at"], attach=order["bill_id"],
                appid=order["appid"] if order["appid"] != self.wechatpay.appid else None)
            return {"prepay_id": prepay.prepay_id}, ClientParams(request_payment=prepay.request_payment.as_dict())
        if order["mode"] == "mini":
            created = await self.alipay.create_trade(out_trade_no=order["out_trade_no"], amount_fen=order["amount_fen"],
                                                     subject=order["description"], expires_at=order["expires_at"],
                                                     **payer)
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


def _not_payable(bill: dict[str, Any], *, paid_order_id: str | None = None) -> AppError:
    """409 BILL_STATE_CONFLICT saying what the bill is now (and which of the payer's orders paid it)."""
    state = BillState(bill["state"])
    extra: dict[str, Any] = {"state": state.value}
    if paid_order_id:
        extra["paid_order_id"] = paid_order_id
    return AppError(FE.BILL_STATE_CONFLICT, errmsg=f"账单{BILL_STATE_LABELS[state]}，无需支付", extra=extra)
