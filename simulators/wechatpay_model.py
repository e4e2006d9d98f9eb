"""What the WeChat Pay simulator remembers (orders, refunds, faults) and the JSON shapes WeChat Pay answers
with: the transaction (query API and TRANSACTION.SUCCESS resource), the refund (refund APIs) and the refund
notice (REFUND.* resource). Rules live in simulators/wechatpay_state.py."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from simulators.wechatpay_bill import BillLine

SHANGHAI = ZoneInfo("Asia/Shanghai")
STATE_DESC = {"SUCCESS": "支付成功", "NOTPAY": "订单未支付", "CLOSED": "订单已关闭", "REFUND": "转入退款",
              "PAYERROR": "支付失败，请重新下单支付"}


class WxPayError(Exception):
    """An error answer: HTTP `status` with `{"code", "message"(, "detail")}`."""

    def __init__(self, status: int, code: str, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.detail = status, code, message, detail

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message} | ({"detail": self.detail} if self.detail else {})


def required(field_path: str, name: str) -> WxPayError:
    """WeChat's wording for a missing field."""
    return WxPayError(400, "PARAM_ERROR", f"输入源“{field_path}”映射到字段“{name}”必填性规则校验失败，此字段为必填项")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


@dataclass
class Order:
    out_trade_no: str
    appid: str
    description: str
    total: int
    openid: str
    notify_url: str
    attach: str
    expires_at: datetime | None
    prepay_id: str
    created_at: datetime
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    events: list[str] = field(default_factory=list)  # what the control API did (pay, fail, abandon)

    def view(self) -> dict[str, Any]:
        return {"out_trade_no": self.out_trade_no, "appid": self.appid, "total": self.total, "openid": self.openid,
                "trade_state": self.trade_state, "transaction_id": self.transaction_id, "prepay_id": self.prepay_id,
                "success_time": rfc3339(self.success_time) if self.success_time else None, "events": self.events,
                "notify_url": self.notify_url}


@dataclass
class Refund:
    out_refund_no: str
    refund_id: str
    order: Order
    refund: int
    reason: str
    notify_url: str | None
    create_time: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None


@dataclass
class Fault:
    api: str | None
    http_status: int
    delay_ms: int
    times: int

    def describe(self) -> dict[str, Any]:
        return {"api": self.api, "http_status": self.http_status, "delay_ms": self.delay_ms, "times": self.times}


def transaction_view(order: Order, mchid: str) -> dict[str, Any]:
    """What the query API and the TRANSACTION.SUCCESS resource say about an order."""
    view: dict[str, Any] = {"appid": order.appid, "mchid": mchid, "out_trade_no": order.out_trade_no,
                            "trade_state": order.trade_state, "trade_state_desc": STATE_DESC[order.trade_state],
                            "attach": order.attach, "amount": {"total": order.total, "currency": "CNY"}}
    if order.transaction_id is not None and order.success_time is not None:
        view.update(transaction_id=order.transaction_id, trade_type="JSAPI", bank_type="OTHERS",
                    success_time=rfc3339(order.success_time), payer={"openid": order.openid})
        view["amount"].update(payer_total=order.total, payer_currency="CNY")
    else:
        view["payer"] = {}
    return view


def refund_view(refund: Refund) -> dict[str, Any]:
    """The answer of the refund create and query APIs."""
    order = refund.order
    view: dict[str, Any] = {
        "refund_id": refund.refund_id, "out_refund_no": refund.out_refund_no, "transaction_id": order.transaction_id,
        "out_trade_no": order.out_trade_no, "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
        "create_time": rfc3339(refund.create_time), "status": refund.status, "funds_account": "AVAILABLE",
        "amount": {"total": order.total, "refund": refund.refund, "payer_total": order.total,
                   "payer_refund": refund.refund, "settlement_total": order.total, "settlement_refund": refund.refund,
                   "discount_refund": 0, "currency": "CNY", "refund_fee": 0, "from": []},
        "promotion_detail": []}
    if refund.success_time is not None:
        view["success_time"] = rfc3339(refund.success_time)
    return view


def refund_notice(refund: Refund, mchid: str) -> dict[str, Any]:
    """The decrypted resource of a REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED callback."""
    order = refund.order
    notice: dict[str, Any] = {
        "mchid": mchid, "out_trade_no": order.out_trade_no, "transaction_id": order.transaction_id,
        "out_refund_no": refund.out_refund_no, "refund_id": refund.refund_id, "refund_status": refund.status,
        "user_received_account": "支付用户零钱",
        "amount": {"total": order.total, "refund": refund.refund, "payer_total": order.total,
                   "payer_refund": refund.refund}}
    if refund.success_time is not None:
        notice["success_time"] = rfc3339(refund.success_time)
    return notice


def bill_lines(orders: Iterable[Order], refunds: Iterable[Refund], mchid: str) -> list[BillLine]:
    """Every successful payment, and every refund not closed, as lines of the trade bill."""
    lines = []
    for order in orders:
        if order.success_time is not None and order.transaction_id is not None:
            lines.append(BillLine(order.success_time, order.appid, mchid, order.transaction_id, order.out_trade_no,
                                  order.openid, order.total, order.description, order.attach))
    for refund in refunds:
        order = refund.order
        if order.transaction_id is not None and refund.status != "CLOSED":
            lines.append(BillLine(refund.create_time, order.appid, mchid, order.transaction_id, order.out_trade_no,
                                  order.openid, order.total, order.description, order.attach, refund.refund_id,
                                  refund.out_refund_no, refund.refund, refund.status))
    return lines
