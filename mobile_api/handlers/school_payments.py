"""Paying a bill: a parent's orders, and the providers' payment callbacks (notify URLs).

Parents (residents) create an order for a bill of a child they are linked to and read it back; another
family's bill or order is 404 RESOURCE_NOT_FOUND like a missing one (accounts/scopes.py). The notify endpoints
take no token: the provider's signature is the authentication (payments/payment_callbacks.py), and they answer
in the provider's own format — WeChat Pay: 204 with no body, or 4xx/5xx with {"code": "FAIL", "message"};
Alipay: exactly `success`, or `fail`. Rules: docs/school-fees.md.
"""

from __future__ import annotations

import json
from typing import Any

from accounts import errors as AE
from core import errors as E
from core.errors import AppError, FieldError
from mobile_api.base import BaseHandler
from mobile_api.handlers.school_parents import person_actor
from mobile_api.handlers.school_payments_models import OrderOut
from mobile_api.openapi import operation
from mobile_api.routing import route
from payments import fee_errors as FE
from payments import order_errors as OE
from payments.order_service import OrderIn

TAGS = ["学校收费（家长）"]
CALLBACK_TAGS = ["支付回调（支付渠道调用）"]
IDEMPOTENCY_HEADER = ("Idempotency-Key", "建议每次发起支付生成一个（最长 128 字符）；网络重试时带同一个键，返回同一订单")


class BillOrdersHandler(BaseHandler):
    @operation(
        summary="发起支付（创建订单）", tags=TAGS, request=OrderIn, response=OrderOut, status=201, auth=True,
        headers=(IDEMPOTENCY_HEADER,),
        errors=(AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND, FE.BILL_STATE_CONFLICT, OE.ORDER_PAYER_UNKNOWN,
                OE.ALIPAY_BUYER_REQUIRED, OE.ALIPAY_BUYER_MISMATCH, OE.ORDER_SUPERSEDED,
                OE.PAYMENT_PROVIDER_UNAVAILABLE, OE.PAYMENT_PROVIDER_REJECTED, E.IDEMPOTENCY_KEY_REUSED,
                E.IDEMPOTENCY_IN_PROGRESS),
        description="只有该学生已关联的家长可以为账单付款（其他账单返回 404）。微信支付返回 `wx.requestPayment` 的参数"
        "（已用商户私钥签名）；支付宝小程序（alipay_mode 为 mini，付款人为 POST /api/v1/me/alipay 关联的支付宝账号）返回 "
        "trade_no（`my.tradePay`），支付宝网页支付返回 pay_url。订单 30 分钟内未支付即关闭。带同一个 Idempotency-Key "
        "重试返回同一订单（参数重新签名）；换一个键即新的一次支付，本人此前未完成的该账单订单先在支付渠道关闭"
        "（若其实已付款，则账单记为已缴清并返回 409）。同一账单只会被缴费一次，重复到账的款项自动原路退回。",
    )
    async def post(self, bill_id: str) -> None:
        principal = await self.resident()
        key = self.request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 128:
            raise AppError(E.VALIDATION_FAILED, errors=[FieldError("Idempotency-Key", "TOO_LONG", "幂等键最长 128 个字符")])
        body = self.parse(OrderIn)
        order, params, created = await self.deps.payments.orders.create(
            person_actor(principal), bill_id, body, idempotency_key=key, raw=self.body)
        self.send(OrderOut.of(order, params), status=201 if created else 200)


class MyOrderHandler(BaseHandler):
    @operation(summary="查看支付订单", tags=TAGS, response=OrderOut, auth=True,
               errors=(AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND),
               description="付款后可轮询此接口：state 为 paid 即账单已缴清。只有创建订单的家长可以查看。")
    async def get(self, order_id: str) -> None:
        principal = await self.resident()
        self.send(OrderOut.of(await self.deps.payments.orders.own(person_actor(principal), order_id)))


class WeChatPayNotifyHandler(BaseHandler):
    """WeChat Pay calls this: the raw body is what the signature covers, so it is read as bytes, never re-parsed
    before the check."""

    @operation(summary="微信支付回调（支付成功、退款结果）", tags=CALLBACK_TAGS, raw_request="application/json", status=204,
               description="由微信支付调用：验证 Wechatpay-Signature（微信支付公钥，原始报文）、Wechatpay-Serial、"
               "时间戳（±5 分钟），解密 resource 后核对商户号、appid、订单号和金额。成功返回 204；失败返回 4xx/5xx 和 "
               '{"code":"FAIL","message":"…"}，微信支付会按其重试间隔重发。重复通知只生效一次。')
    async def post(self) -> None:
        result = await self.deps.payments.callbacks.wechatpay_notify(self.request.headers.get, self.body)
        if result.accepted:
            self.set_status(204)
            self.clear_header("Content-Type")
            self.finish()
        else:
            self._fail(result.status, "签名或通知内容校验失败" if result.status == 401 else "通知内容与订单不符")

    def _fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"code": "FAIL", "message": message}, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Anything unexpected (the database away): WeChat Pay's failure body, so it sends the notice again."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        status = exc.status if isinstance(exc, AppError) else max(status_code, 500)
        self._fail(status, "系统繁忙，请稍后重试")


class AlipayNotifyHandler(BaseHandler):
    @operation(summary="支付宝异步通知", tags=CALLBACK_TAGS, raw_request="application/x-www-form-urlencoded",
               description="由支付宝调用：RSA2 验签（去掉 sign、sign_type 后按参数名排序），核对 app_id、seller_id、"
               "订单号和金额；只有 TRADE_SUCCESS / TRADE_FINISHED 视为已付款。处理完（或已处理过）返回纯文本 "
               "`success`，否则返回 `fail`，支付宝会重发。")
    async def post(self) -> None:
        result = await self.deps.payments.callbacks.alipay_notify(self.body)
        self._reply(200 if result.accepted else result.status, b"success" if result.accepted else b"fail")

    def _reply(self, status: int, text: bytes) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(text)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        self._reply(exc.status if isinstance(exc, AppError) else max(status_code, 500), b"fail")


ROUTES = [
    route("/api/v1/me/bills/{bill_id}/orders", BillOrdersHandler),
    route("/api/v1/me/orders/{order_id}", MyOrderHandler),
    route("/api/v1/payments/wechatpay/notify", WeChatPayNotifyHandler),
    route("/api/v1/payments/alipay/notify", AlipayNotifyHandler),
]
