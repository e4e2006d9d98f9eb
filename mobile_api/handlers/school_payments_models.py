"""Response models of payment orders (what the OpenAPI document shows). Money is integer fen, with a yuan string
beside it for display; no payer identifiers (openid, buyer id) are ever answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from payments.money import fen_to_yuan
from payments.order_service import ClientParams
from payments.orders import STATE_LABELS, OrderState


class RequestPaymentOut(BaseModel):
    """`wx.requestPayment(...)` exactly as the mini-program passes it."""

    appId: str  # noqa: N815 - WeChat's own parameter names
    timeStamp: str  # noqa: N815
    nonceStr: str  # noqa: N815
    package: str = Field(examples=["prepay_id=wx201410272009395522657a690389285100"])
    signType: str = Field(examples=["RSA"])  # noqa: N815
    paySign: str  # noqa: N815


class RefundOut(BaseModel):
    state: str = Field(description="requested 已申请，processing 退款中，refunded 已退回，failed 退款失败（学校财务处理）")
    amount_fen: int
    reason: str


class OrderOut(BaseModel):
    id: str = Field(description="订单号，同时是支付渠道的商户订单号（out_trade_no）")
    bill_id: str
    channel: str = Field(description="wechatpay 或 alipay")
    mode: str = Field(description="jsapi 微信小程序/公众号，mini 支付宝小程序，wap 支付宝网页")
    state: OrderState = Field(description="created 待支付，paying 支付中，paid 已支付，closed 已关闭，failed 支付失败")
    state_label: str
    amount_fen: int = Field(description="金额（分）")
    amount_yuan: str = Field(description="同一金额（元），仅供显示")
    description: str
    created_at: datetime
    expires_at: datetime = Field(description="过期时间：之后订单关闭，不能再支付")
    paid_at: datetime | None
    closed_reason: str | None = Field(description="expired 超时未支付，superseded 已发起新的支付，"
                                      "bill_paid_by_another_order 账单已由其他订单缴清，…")
    refund: RefundOut | None = Field(description="款项到账但订单不能生效时的自动退款")
    refunded_fen: int = Field(0, description="学校财务办理的退费中已退回的金额（分）；全额退回后账单为 refunded")
    request_payment: RequestPaymentOut | None = Field(
        None, description="微信支付：传给 wx.requestPayment 的参数（仅在创建或重试创建时返回）")
    alipay_trade_no: str | None = Field(None, description="支付宝小程序：传给 my.tradePay 的 tradeNO")
    alipay_pay_url: str | None = Field(None, description="支付宝网页支付：跳转到此地址")

    @classmethod
    def of(cls, doc: dict[str, Any], params: ClientParams | None = None) -> OrderOut:
        payment, refund = doc.get("payment") or {}, doc.get("refund")
        return cls(
            id=doc["_id"], bill_id=doc["bill_id"], channel=doc["channel"], mode=doc["mode"], state=doc["state"],
            state_label=STATE_LABELS[OrderState(doc["state"])], amount_fen=doc["amount_fen"],
            amount_yuan=fen_to_yuan(doc["amount_fen"]), description=doc["description"], created_at=doc["created_at"],
            expires_at=doc["expires_at"], paid_at=payment.get("paid_at") if doc["state"] == OrderState.PAID else None,
            closed_reason=doc.get("closed_reason") or doc.get("failed_reason"),
            refund=RefundOut(state=refund["state"], amount_fen=refund["amount_fen"], reason=refund["reason"])
            if refund else None, refunded_fen=int(doc.get("refunded_fen") or 0),
            request_payment=RequestPaymentOut(**params.request_payment) if params and params.request_payment else None,
            alipay_trade_no=params.alipay_trade_no if params else None,
            alipay_pay_url=params.alipay_pay_url if params else None)
