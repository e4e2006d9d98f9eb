"""Typed answers of the Alipay adapter. Alipay speaks yuan strings and `yyyy-MM-dd HH:mm:ss` Beijing times;
these models hold integer fen and aware datetimes, validated from Alipay's own field names (aliases)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from payments.money import yuan_to_fen

SHANGHAI = ZoneInfo("Asia/Shanghai")
# trade_status values
WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_FINISHED, TRADE_CLOSED = (
    "WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_FINISHED", "TRADE_CLOSED")


def _fen(value: Any) -> Any:
    return yuan_to_fen(value) if isinstance(value, str) else value


def _beijing(value: Any) -> Any:
    """`2025-11-25 10:00:00` (or with `.000` milliseconds) in Beijing time → aware datetime."""
    if isinstance(value, str):
        return datetime.strptime(value.split(".")[0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    return value


Fen = Annotated[int, BeforeValidator(_fen)]
BeijingTime = Annotated[datetime, BeforeValidator(_beijing)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class TradeCreated(_Model):
    """alipay.trade.create: `trade_no` goes to the mini-program's `my.tradePay({tradeNO})`."""

    out_trade_no: str
    trade_no: str


class AlipayUser(_Model):
    """alipay.system.oauth.token: who the mini-program's auth code belongs to. Apps made since Alipay's OpenID
    upgrade get `open_id` (per app), older ones `user_id` (2088…); the tokens are not kept (scope auth_base)."""

    open_id: str | None = Field(None, min_length=1, max_length=128)
    user_id: str | None = Field(None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _one_id(self) -> AlipayUser:
        if not (self.open_id or self.user_id):
            raise ValueError("neither open_id nor user_id in the answer")
        return self


class Trade(_Model):
    """alipay.trade.query."""

    out_trade_no: str
    trade_no: str
    trade_status: str
    total_fen: Fen = Field(alias="total_amount")
    buyer_pay_fen: Fen | None = Field(None, alias="buyer_pay_amount")
    receipt_fen: Fen | None = Field(None, alias="receipt_amount")
    buyer_user_id: str | None = None
    buyer_open_id: str | None = None
    send_pay_date: BeijingTime | None = None

    @property
    def paid(self) -> bool:
        """Only TRADE_SUCCESS / TRADE_FINISHED mean the money arrived (a fully refunded trade is TRADE_CLOSED)."""
        return self.trade_status in (TRADE_SUCCESS, TRADE_FINISHED)


class Refund(_Model):
    """alipay.trade.refund (synchronous). `refund_total_fen` is the trade's cumulative refund; `fund_change`
    is False when this out_request_no had already been refunded (a retry)."""

    out_trade_no: str
    trade_no: str
    out_request_no: str
    refund_total_fen: Fen = Field(alias="refund_fee")
    fund_change: bool
    gmt_refund_pay: BeijingTime | None = None


class RefundStatus(_Model):
    """alipay.trade.fastpay.refund.query: no `refund_fen` means no refund with that out_request_no exists."""

    out_trade_no: str
    out_request_no: str
    refund_fen: Fen | None = Field(None, alias="refund_amount")
    refund_status: str | None = None
    gmt_refund_pay: BeijingTime | None = None

    @property
    def refunded(self) -> bool:
        return self.refund_fen is not None and self.refund_status in (None, "REFUND_SUCCESS")


class Notice(_Model):
    """A verified async notify (trade_status_sync). A refund's notify carries `refund_fee_fen` (cumulative)
    and `out_biz_no` (the out_request_no) and a trade_status of TRADE_SUCCESS (partial) or TRADE_CLOSED (full)."""

    notify_id: str
    notify_time: BeijingTime
    notify_type: str
    app_id: str
    seller_id: str | None = None
    trade_no: str
    out_trade_no: str
    trade_status: str
    total_fen: Fen = Field(alias="total_amount")
    receipt_fen: Fen | None = Field(None, alias="receipt_amount")
    buyer_id: str | None = None
    buyer_open_id: str | None = None
    gmt_payment: BeijingTime | None = None
    refund_fee_fen: Fen | None = Field(None, alias="refund_fee")
    gmt_refund: BeijingTime | None = None
    out_biz_no: str | None = None

    @property
    def is_refund(self) -> bool:
        return self.refund_fee_fen is not None

    @property
    def paid(self) -> bool:
        """A payment notice saying the money arrived: TRADE_SUCCESS / TRADE_FINISHED, not a refund's echo."""
        return not self.is_refund and self.trade_status in (TRADE_SUCCESS, TRADE_FINISHED)


@dataclass(frozen=True, slots=True)
class BillRow:
    trade_no: str
    out_trade_no: str
    kind: str  # 交易 (payment) | 退款 (refund)
    subject: str
    created_at: datetime
    finished_at: datetime
    amount_fen: int  # 订单金额: negative for a refund
    received_fen: int  # 商家实收
    request_no: str  # 退款批次号/请求号 (refunds)

    @property
    def is_refund(self) -> bool:
        return self.kind == "退款"


@dataclass(frozen=True, slots=True)
class TradeBill:
    bill_date: date
    rows: tuple[BillRow, ...]
    trade_count: int
    refund_count: int
