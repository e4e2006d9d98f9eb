"""Response models of refunds asked for by school finance (what the OpenAPI document shows). Money is integer
fen, with a yuan string beside it for display; staff are named by id and display name, payers not at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from payments.money import fen_to_yuan
from payments.refunds import STATE_LABELS, RefundState


class StaffRefOut(BaseModel):
    staff_id: str
    name: str


class RefundOut(BaseModel):
    id: str
    out_refund_no: str = Field(description="商户退款单号（支付渠道的 out_refund_no / out_request_no），重试时不变")
    bill_id: str
    order_id: str = Field(description="原支付订单号")
    channel: str = Field(description="wechatpay 或 alipay（原路退回）")
    student_name: str
    item_name: str
    amount_fen: int = Field(description="退款金额（分）")
    amount_yuan: str = Field(description="同一金额（元），仅供显示")
    order_amount_fen: int = Field(description="原订单实付金额（分）")
    full: bool = Field(description="是否全额退款（全额退款成功后账单变为 refunded 已退费）")
    reason: str
    state: RefundState = Field(description="requested 待审批，approved 已批准待提交渠道，processing 退款中，"
                                           "succeeded 已退款，failed 退款失败，rejected 已驳回")
    state_label: str
    requested_by: StaffRefOut
    requested_at: datetime
    decided_by: StaffRefOut | None = Field(description="审批（或驳回）的另一位学校财务人员")
    decided_at: datetime | None
    reject_reason: str | None
    settled_at: datetime | None
    failure: str | None = Field(description="退款失败时渠道给出的原因代码")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> RefundOut:
        failure = doc.get("failure") or {}
        return cls(
            id=doc["_id"], out_refund_no=doc["out_refund_no"], bill_id=doc["bill_id"], order_id=doc["order_id"],
            channel=doc["channel"], student_name=doc["student_name"], item_name=doc["item_name"],
            amount_fen=doc["amount_fen"], amount_yuan=fen_to_yuan(doc["amount_fen"]),
            order_amount_fen=doc["order_amount_fen"], full=doc["full"], reason=doc["reason"], state=doc["state"],
            state_label=STATE_LABELS[RefundState(doc["state"])], requested_by=StaffRefOut(**doc["requested_by"]),
            requested_at=doc["requested_at"],
            decided_by=StaffRefOut(**doc["decided_by"]) if doc.get("decided_by") else None,
            decided_at=doc.get("decided_at"), reject_reason=doc.get("reject_reason"),
            settled_at=doc.get("settled_at"), failure=failure.get("detail"))


class RefundsOut(BaseModel):
    items: list[RefundOut]
