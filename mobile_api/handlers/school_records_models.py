"""Response models of e-receipts, credit notes (红字票据) and reconciliation reports (what the OpenAPI document
shows). Money is integer fen with a yuan string beside it (negative on credit notes); payers are shown masked only
(receipts never hold a phone in clear)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from payments.credit_notes import CreditNote, CreditStatus
from payments.money import capitals, fen_to_yuan
from payments.payment_records import Checked
from payments.receipts import Receipt, ReceiptItem, verification_url


class ReceiptItemOut(BaseModel):
    name: str = Field(description="收费项目")
    note: str = Field(description="学期等说明")
    amount_fen: int = Field(description="金额（分）；红字票据为负数")
    amount_yuan: str


def items_out(items: tuple[ReceiptItem, ...]) -> list[ReceiptItemOut]:
    return [ReceiptItemOut(name=i.name, note=i.note, amount_fen=i.amount_fen, amount_yuan=fen_to_yuan(i.amount_fen))
            for i in items]


class CreditNoteRefOut(BaseModel):
    number: str = Field(description="红字票据号码", examples=["ZSBH20260902000001"])
    amount_fen: int = Field(description="冲红金额（分，负数）")
    refund_id: str
    issued_at: datetime


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
    credit_state: Literal["none", "partial", "full"] = Field(
        description="冲红情况：none 未冲红，partial 部分冲红（部分退费），full 全额冲红（全额退费）")
    credit_state_label: str
    credited_fen: int = Field(description="已冲红金额（分，正数）")
    credit_notes: list[CreditNoteRefOut] = Field(description="冲减本票据的红字票据（每笔退款一张）")

    @classmethod
    def of(cls, receipt: Receipt, base_url: str, credit: CreditStatus) -> ReceiptOut:
        return cls(
            number=receipt.number, code=receipt.code, verify_url=verification_url(base_url, receipt.number, receipt.code),
            out_trade_no=receipt.out_trade_no, channel=receipt.channel, channel_label=receipt.channel_label,
            transaction_id=receipt.transaction_id, paid_at=receipt.paid_at, payer=receipt.payer,
            student_name=receipt.student_name, student_no=receipt.student_no, school_name=receipt.school_name,
            class_name=receipt.class_name, items=items_out(receipt.items),
            total_fen=receipt.total_fen, total_yuan=fen_to_yuan(receipt.total_fen),
            total_capitals=capitals(receipt.total_fen), issued_at=receipt.issued_at, credit_state=credit.state,
            credit_state_label=credit.label, credited_fen=credit.credited_fen,
            credit_notes=[CreditNoteRefOut(number=n.number, amount_fen=n.total_fen, refund_id=n.refund_id,
                                           issued_at=n.issued_at) for n in credit.notes])


class CreditNoteOut(BaseModel):
    """A credit note (红字票据): the refunded amount as a negative document naming the receipt it cancels."""

    number: str = Field(description="红字票据号码：ZSBH + 退款日期 + 当日序号", examples=["ZSBH20260902000001"])
    code: str = Field(description="校验码（与二维码中的相同）")
    verify_url: str = Field(description="查验地址（二维码内容），与电子票据相同的查验接口")
    original_number: str = Field(description="被冲红的原电子票据号码")
    refund_id: str
    out_refund_no: str = Field(description="退款单号")
    channel: str
    channel_label: str
    refunded_at: datetime = Field(description="退款成功时间")
    reason: str = Field(description="冲红原因（退款原因）")
    payer: str = Field(description="缴费人（已脱敏）")
    student_name: str
    school_name: str
    class_name: str
    items: list[ReceiptItemOut]
    total_fen: int = Field(description="合计（分，负数）", examples=[-30000])
    total_yuan: str = Field(examples=["-300.00"])
    total_capitals: str = Field(description="大写金额", examples=["（负数）叁佰元整"])
    issued_at: datetime

    @classmethod
    def of(cls, note: CreditNote, base_url: str) -> CreditNoteOut:
        return cls(
            number=note.number, code=note.code, verify_url=verification_url(base_url, note.number, note.code),
            original_number=note.original_number, refund_id=note.refund_id, out_refund_no=note.out_refund_no,
            channel=note.channel, channel_label=note.channel_label, refunded_at=note.refunded_at, reason=note.reason,
            payer=note.payer, student_name=note.student_name, school_name=note.school_name,
            class_name=note.class_name, items=items_out(note.items), total_fen=note.total_fen,
            total_yuan=fen_to_yuan(note.total_fen), total_capitals=f"（负数）{capitals(-note.total_fen)}",
            issued_at=note.issued_at)


class CreditNotesOut(BaseModel):
    items: list[CreditNoteOut]


class CheckedReceiptOut(BaseModel):
    """Only what a person holding the receipt already sees, and nothing about the student."""

    kind: Literal["receipt", "credit_note"] = Field(description="receipt 电子票据，credit_note 红字票据")
    number: str
    payer: str = Field(description="缴费人（已脱敏）")
    amount_fen: int = Field(description="金额（分）；红字票据为负数")
    amount_yuan: str
    paid_at: datetime | None = Field(description="缴费时间（电子票据）")
    refunded_at: datetime | None = Field(description="退款时间（红字票据）")
    school_name: str = Field(description="收款单位")
    credit_state: Literal["none", "partial", "full"] | None = Field(
        description="电子票据的冲红情况：none 未冲红，partial 部分冲红，full 全额冲红")
    credited_fen: int | None = Field(description="电子票据已冲红金额（分，正数）")
    original_number: str | None = Field(description="红字票据冲减的原电子票据号码")


class ReceiptCheckOut(BaseModel):
    genuine: bool = Field(description="true：票据号码与校验码相符，为本平台开具的真实票据（或红字票据）")
    message: str
    receipt: CheckedReceiptOut | None = None

    @classmethod
    def of(cls, checked: Checked) -> ReceiptCheckOut:
        receipt, credit, note = checked.receipt, checked.credit, checked.note
        if note is not None:
            return cls(genuine=True, message=f"红字票据真实有效，冲减原票据 {note.original_number}",
                       receipt=CheckedReceiptOut(
                           kind="credit_note", number=note.number, payer=note.payer, amount_fen=note.total_fen,
                           amount_yuan=fen_to_yuan(note.total_fen), paid_at=None, refunded_at=note.refunded_at,
                           school_name=note.school_name, credit_state=None, credited_fen=None,
                           original_number=note.original_number))
        if receipt is None or credit is None:
            return cls(genuine=False, message="未查到与该票据号码和校验码相符的电子票据，请核对后重试")
        message = "票据真实有效" if credit.state == "none" else f"票据真实有效，已{credit.label} {fen_to_yuan(credit.credited_fen)} 元"
        return cls(genuine=True, message=message, receipt=CheckedReceiptOut(
            kind="receipt", number=receipt.number, payer=receipt.payer, amount_fen=receipt.total_fen,
            amount_yuan=fen_to_yuan(receipt.total_fen), paid_at=receipt.paid_at, refunded_at=None,
            school_name=receipt.school_name, credit_state=credit.state, credited_fen=credit.credited_fen,
            original_number=None))


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
