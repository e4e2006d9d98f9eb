"""Typed answers of the WeChat Pay adapter: what WeChat Pay says, validated, with amounts in integer fen.

Field names follow WeChat Pay's JSON so a log line or a support ticket reads the same on both sides. Unknown
fields are ignored (WeChat adds some from time to time); missing required ones fail validation, which the
adapter turns into ProviderUnavailable("MALFORMED").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

# trade_state values
SUCCESS, NOTPAY, CLOSED, REFUND, PAYERROR, USERPAYING, REVOKED = (
    "SUCCESS", "NOTPAY", "CLOSED", "REFUND", "PAYERROR", "USERPAYING", "REVOKED")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Amount(_Model):
    total: int
    payer_total: int | None = None
    currency: str = "CNY"
    payer_currency: str | None = None


class Payer(_Model):
    openid: str | None = None


class Transaction(_Model):
    """An order as the query API and TRANSACTION.SUCCESS callbacks describe it."""

    appid: str
    mchid: str
    out_trade_no: str
    trade_state: str
    trade_state_desc: str | None = None
    transaction_id: str | None = None
    trade_type: str | None = None
    bank_type: str | None = None
    attach: str | None = None
    success_time: datetime | None = None
    payer: Payer | None = None
    amount: Amount | None = None

    @property
    def paid(self) -> bool:
        """Money arrived: SUCCESS, or REFUND (paid, then refunded in part or whole)."""
        return self.trade_state in (SUCCESS, REFUND)


class RefundAmount(_Model):
    total: int
    refund: int
    payer_total: int | None = None
    payer_refund: int | None = None
    currency: str = "CNY"


class Refund(_Model):
    """A refund as the refund APIs describe it; `status` SUCCESS | PROCESSING | CLOSED | ABNORMAL."""

    refund_id: str
    out_refund_no: str
    out_trade_no: str
    transaction_id: str | None = None
    status: str
    channel: str | None = None
    user_received_account: str | None = None
    create_time: datetime | None = None
    success_time: datetime | None = None
    amount: RefundAmount


class RefundNotice(_Model):
    """The resource of a REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED callback."""

    mchid: str
    out_trade_no: str
    transaction_id: str | None = None
    out_refund_no: str
    refund_id: str
    refund_status: str
    success_time: datetime | None = None
    user_received_account: str | None = None
    amount: RefundAmount


class Notice(_Model):
    """A verified, decrypted callback. Exactly one of `transaction` / `refund` is set, by `event_type`.

    `id` is WeChat Pay's notice id: the same notice delivered again carries the same id.
    """

    id: str
    create_time: datetime
    event_type: str
    summary: str | None = None
    transaction: Transaction | None = None
    refund: RefundNotice | None = None


@dataclass(frozen=True, slots=True)
class RequestPayment:
    """What the mini-program passes to `wx.requestPayment` (JSAPI: `WeixinJSBridge` `getBrandWCPayRequest`)."""

    app_id: str
    time_stamp: str
    nonce_str: str
    package: str
    sign_type: str
    pay_sign: str

    def as_dict(self) -> dict[str, str]:
        return {"appId": self.app_id, "timeStamp": self.time_stamp, "nonceStr": self.nonce_str,
                "package": self.package, "signType": self.sign_type, "paySign": self.pay_sign}


@dataclass(frozen=True, slots=True)
class Prepay:
    out_trade_no: str
    prepay_id: str
    request_payment: RequestPayment


@dataclass(frozen=True, slots=True)
class BillRow:
    """One line of the trade bill: a payment (`trade_state` SUCCESS) or a refund (`trade_state` REFUND)."""

    trade_time: datetime  # Asia/Shanghai
    appid: str
    mchid: str
    transaction_id: str
    out_trade_no: str
    openid: str
    trade_type: str
    trade_state: str
    settlement_fen: int
    refund_id: str
    out_refund_no: str
    refund_fen: int
    refund_status: str
    description: str
    attach: str
    fee: str  # yuan, five decimals, negative on refunds (kept as text: sub-fen precision)
    order_fen: int
    requested_refund_fen: int

    @property
    def is_refund(self) -> bool:
        return self.trade_state == REFUND


@dataclass(frozen=True, slots=True)
class TradeBill:
    """The day's bill, its lines checked against the summary (count and totals)."""

    bill_date: date
    rows: tuple[BillRow, ...]
    count: int
    settlement_total_fen: int
    refund_total_fen: int
    order_total_fen: int
    raw_summary: dict[str, Any]
