"""Response models of e-receipts and reconciliation reports (what the OpenAPI document shows). Money is integer
fen with a yuan string beside it; payers are shown masked only (receipts never hold a phone in clear)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from payments.money import capitals, fen_to_yuan
from payments.receipts import Receipt, verification_url


class ReceiptItemOut(BaseModel):
    name: str = Field(description="收费项目")
    note: str = Field(description="学期等说明")
    amount_fen: int
    amount_yuan: str


class ReceiptOut(BaseModel):
    number: str = Field(description="票据号码：ZSB + 缴费日期 + 当日序号", examples=["ZSB20260901000123"])
    code: str = Field(description="校验码（与二维码中的相同）", examples=["7KQ2M-X9D4T"])
    verify_url: str = Field(description="查验地址（二维码内容）")
    out_trade_no: str = Field(description="订单号（商户订单号）")
    channel: str = Field(description="wechatpay 或 alipay")
    channel_label: str
    transaction_id: str = Field(description="支付渠道的交易单号")
    paid_at: datetime
    payer: str = Field(description="缴费人（已脱敏）", examples=["陈*强（138****5678）"])
    student_name: str
    student_no: str
    school_name: str
    class_name: str
    items: list[ReceiptItemOut]
    total_fen: int
    total_yuan: str
    total_capitals: str = Field(description="大写金额", examples=["壹仟贰佰元整"])
    issued_at: datetime

    @classmethod
    def of(cls, receipt: Receipt, base_url: str) -> ReceiptOut:
        return cls(
            number=receipt.number, code=receipt.code, verify_url=verification_url(base_url, receipt.number, receipt.code),
            out_trade_no=receipt.out_trade_no, channel=receipt.channel, channel_label=receipt.channel_label,
            transaction_id=receipt.transaction_id, paid_at=receipt.paid_at, payer=receipt.payer,
            student_name=receipt.student_name, student_no=receipt.student_no, school_name=receipt.school_name,
            class_name=receipt.class_name,
            items=[ReceiptItemOut(name=i.name, note=i.note, amount_fen=i.amount_fen, amount_yuan=fen_to_yuan(i.amount_fen))
                   for i in receipt.items],
            total_fen=receipt.total_fen, total_yuan=fen_to_yuan(receipt.total_fen),
            total_capitals=capitals(receipt.total_fen), issued_at=receipt.issued_at)


class CheckedReceiptOut(BaseModel):
    """Only what a person holding the receipt already sees, and nothing about the student."""

    number: str
    payer: str = Field(description="缴费人（已脱敏）")
    amount_fen: int
    amount_yuan: str
    paid_at: datetime
    school_name: str = Field(description="收款单位")


class ReceiptCheckOut(BaseModel):
    genuine: bool = Field(description="true：票据号码与校验码相符，为本平台开具的真实票据")
    message: str
    receipt: CheckedReceiptOut | None = None

    @classmethod
    def of(cls, receipt: Receipt | None) -> ReceiptCheckOut:
        if receipt is None:
            return cls(genuine=False, message="未查到与该票据号码和校验码相符的电子票据，请核对后重试")
        return cls(genuine=True, message="票据真实有效", receipt=CheckedReceiptOut(
            number=receipt.number, payer=receipt.payer, amount_fen=receipt.total_fen,
            amount_yuan=fen_to_yuan(receipt.total_fen), paid_at=receipt.paid_at, school_name=receipt.school_name))


class DiscrepancyOut(BaseModel):
    kind: str = Field(description="paid_there_not_here 渠道已收款本地未记，paid_here_not_there 本地已记渠道无，"
                      "amount_differs 金额不一致，transaction_differs 交易单号不一致，refund_… 退款差异，"
                      "duplicate_there 渠道重复记录")
    label: str
    out_trade_no: str
    out_refund_no: str | None
    provider_fen: int | None = Field(description="渠道账单金额（分）")
    local_fen: int | None = Field(description="本地金额（分）")
    provider_transaction_id: str | None
    local_transaction_id: str | None
    local_state: str | None
    provider_at: datetime | None
    local_at: datetime | None


class ReconciliationReportOut(BaseModel):
    channel: str
    day: date = Field(description="对账日（北京时间）")
    status: str = Field(description="done 已完成，failed 未能取得渠道账单")
    run_at: datetime | None
    runs: int = Field(description="运行次数（重新对账会替换当日报告）")
    error: dict[str, Any] | None = Field(None, description="最近一次运行失败的原因")
    discrepancies: list[DiscrepancyOut] = Field(description="本校订单的差异")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> ReconciliationReportOut:
        return cls(channel=doc["channel"], day=doc["day"], status=doc["status"], run_at=doc.get("run_at"),
                   runs=doc.get("runs", 0), error=doc.get("error"),
                   discrepancies=[DiscrepancyOut(**{k: v for k, v in d.items() if k != "school_id"})
                                  for d in doc.get("discrepancies", [])])


class ReconciliationReportsOut(BaseModel):
    items: list[ReconciliationReportOut]


class ReconciliationRunIn(BaseModel):
    day: date = Field(description="要重新对账的日期（北京时间），今天以前、90 天以内", examples=["2026-09-01"])


class ChannelRunOut(BaseModel):
    channel: str
    status: str = Field(description="done 已完成，failed 未能取得渠道账单（稍后可再试）")
    error: str | None


class ReconciliationRunOut(BaseModel):
    day: date
    runs: list[ChannelRunOut]
    reports: list[ReconciliationReportOut] = Field(description="当日报告中本校的差异（没有差异则为空）")
