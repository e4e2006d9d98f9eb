"""Response models of refunds asked for by school finance (what the OpenAPI document shows). Money is integer
fen, with a yuan string beside it for display; staff are named by id and display name, payers not at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from payments.money import fen_to_yuan
from payments.orders import RefundState as LateRefundState
from payments.refunds import STATE_LABELS, RefundState, failed_for_good, failure_label


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
    failure: str | None = Field(description="退款失败时渠道给出的原因代码（或退款状态，如 CLOSED、ABNORMAL）")
    failure_message: str | None = Field(description="退款失败时渠道给出的原因说明")
    failure_label: str | None = Field(description="失败原因及可否重新发起的说明")
    retryable: bool = Field(description="是否可以重新发起：渠道确认该退款已失败且未退出任何款项（拒绝受理或退款关闭），"
                                        "且尚未重新发起")
    attempt: int = Field(description="第几次发起（重新发起的退款从 2 起）")
    retry_of: str | None = Field(description="重新发起时：上一次失败的退款申请编号")
    retried_by: str | None = Field(description="已重新发起时：新的退款申请编号")

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
            settled_at=doc.get("settled_at"), failure=failure.get("detail"),
            failure_message=failure.get("message") or None, failure_label=failure_label(doc.get("failure")),
            retryable=doc["state"] == RefundState.FAILED and not doc.get("retried_by")
            and failed_for_good(doc.get("failure")),
            attempt=doc.get("attempt") or 1, retry_of=doc.get("retry_of"), retried_by=doc.get("retried_by"))


class RefundsOut(BaseModel):
    items: list[RefundOut]


LATE_STATE_LABELS = {LateRefundState.REQUESTED: "待提交渠道", LateRefundState.PROCESSING: "退款中",
                     LateRefundState.REFUNDED: "已退回", LateRefundState.FAILED: "退款失败"}


class LateRefundAttemptOut(BaseModel):
    out_refund_no: str
    state: LateRefundState
    failure: str | None = Field(description="渠道给出的原因代码（或退款状态）")
    failure_message: str | None


class LatePaymentOut(BaseModel):
    """Money that arrived for an order that could not be paid, and its automatic refund (原路退回)."""

    order_id: str = Field(description="支付订单号（商户订单号）")
    bill_id: str
    channel: str
    amount_fen: int = Field(description="到账并须退回的金额（分）")
    amount_yuan: str
    paid_at: datetime | None = Field(description="渠道的支付成功时间")
    late_reason: str | None = Field(description="不能入账的原因：bill_paid_by_another_order 账单已由另一笔付款缴清，"
                                                "bill_cancelled 账单已取消，order_closed 订单已关闭，order_failed 订单已失败")
    refund_state: LateRefundState = Field(description="requested 待提交渠道，processing 退款中，refunded 已退回，"
                                                      "failed 退款失败")
    refund_state_label: str
    out_refund_no: str = Field(description="当前这次退款的商户退款单号")
    attempt: int = Field(description="第几次发起")
    failure: str | None = Field(description="退款失败时渠道给出的原因代码（或退款状态）")
    failure_message: str | None = Field(description="退款失败时渠道给出的原因说明")
    failure_label: str | None
    retryable: bool = Field(description="是否可以用新的退款单号重新发起（渠道确认失败且未退出任何款项）")
    previous_attempts: list[LateRefundAttemptOut]

    @classmethod
    def of(cls, order: dict[str, Any]) -> LatePaymentOut:
        refund, payment = order.get("refund") or {}, order.get("payment") or {}
        state = LateRefundState(refund["state"])
        return cls(
            order_id=order["_id"], bill_id=order["bill_id"], channel=order["channel"], amount_fen=refund["amount_fen"],
            amount_yuan=fen_to_yuan(refund["amount_fen"]), paid_at=payment.get("paid_at"),
            late_reason=order.get("late_reason"), refund_state=state, refund_state_label=LATE_STATE_LABELS[state],
            out_refund_no=refund["out_refund_no"], attempt=refund.get("attempt") or 1,
            failure=refund.get("detail") if state == LateRefundState.FAILED else None,
            failure_message=refund.get("message") or None,
            failure_label=failure_label(refund) if state == LateRefundState.FAILED else None,
            retryable=state == LateRefundState.FAILED and failed_for_good(refund),
            previous_attempts=[LateRefundAttemptOut(out_refund_no=a["out_refund_no"], state=a["state"],
                                                    failure=a.get("detail"), failure_message=a.get("message") or None)
                               for a in order.get("refund_attempts") or []])


class LatePaymentsOut(BaseModel):
    items: list[LatePaymentOut]


class LateRetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    out_refund_no: str = Field(min_length=2, max_length=64, description="失败的那次退款的商户退款单号（重复提交时据此"
                                                                      "返回已重新发起的那一次，不会再发起一次）")


class StateTotalOut(BaseModel):
    count: int
    amount_fen: int


class RefundBoardOut(BaseModel):
    school: dict[str, StateTotalOut] = Field(description="学校财务申请的退费，按状态的笔数和金额（已重新发起的失败退款"
                                                         "不计入 failed）")
    automatic: dict[str, StateTotalOut] = Field(description="未能入账款项的自动退回，按状态的笔数和金额")
    failed: list[RefundOut] = Field(description="待处理的失败退费（含渠道原因、可否重新发起）")
    late_failed: list[LatePaymentOut] = Field(description="待处理的失败自动退回")
