"""Staff endpoints of refunds (退费): school finance asks, a second finance staff member approves or rejects,
the money goes back the way it came (payments/refund_service.py; the rules: docs/school-fees.md, "Refunds").

Only `school_finance` staff of the school act; staff of another school get 403 FORBIDDEN, a record of another
school is 404. The requester cannot approve or reject their own request (403 REFUND_SAME_PERSON). A request
takes an `Idempotency-Key`: the same key and body answer the same refund (201, then 200). A failed refund is
tried again (`…/retry`) as a new refund under a new number only when the provider says it failed for good
(201, then 200 with the same attempt). The automatic refunds of money that arrived for an order that could not
be paid are listed and tried again under `…/late-payments` (payments/late_refunds.py); `…/refunds/board` counts
both kinds by state and lists the failed ones with the provider's reason.
"""

from __future__ import annotations

from accounts import errors as AE
from core import errors as E
from core.errors import AppError, FieldError
from mobile_api.base import BaseHandler
from mobile_api.handlers.school_refunds_models import (
    LatePaymentOut,
    LatePaymentsOut,
    LateRetryIn,
    RefundBoardOut,
    RefundOut,
    RefundsOut,
    StateTotalOut,
)
from mobile_api.openapi import operation
from mobile_api.routing import route
from payments import fee_errors as FE
from payments import refund_errors as RE
from payments.orders import RefundState as LateRefundState
from payments.refunds import RefundIn, RefundState, RejectIn

TAGS = ["学校收费（退费）"]
ACCESS_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN)
DECIDE_ERRORS = (*ACCESS_ERRORS, RE.REFUND_NOT_FOUND, RE.REFUND_SAME_PERSON, RE.REFUND_STATE_CONFLICT)
FINANCE_ONLY = "只有本校的学校财务（school_finance）可以操作。"
SECOND_PERSON = "须由本校另一位学校财务人员操作：申请人不能审批或驳回自己的申请（四眼原则）。"
IDEMPOTENCY_HEADER = ("Idempotency-Key", "建议每次申请生成一个（最长 128 字符）；网络重试时带同一个键，返回同一退款申请")


class BillRefundsHandler(BaseHandler):
    @operation(
        summary="申请退费（全额或部分）", tags=TAGS, request=RefundIn, response=RefundOut, status=201, auth=True,
        headers=(IDEMPOTENCY_HEADER,),
        errors=(*ACCESS_ERRORS, FE.BILL_NOT_FOUND, RE.REFUND_NOT_PAID, RE.REFUND_AMOUNT_EXCEEDED,
                E.IDEMPOTENCY_KEY_REUSED, E.IDEMPOTENCY_IN_PROGRESS),
        description=FINANCE_ONLY + "对已缴费账单的支付订单申请退款，金额为整数（分），可部分退款；同一订单所有退款"
        "（审批中、退款中和已退款）之和不能超过实付金额（409 REFUND_AMOUNT_EXCEEDED，返回 refundable_fen）。"
        "申请须由本校另一位学校财务人员审批后才提交支付渠道。")
    async def post(self, school_id: str, bill_id: str) -> None:
        account = await self.staff_account()
        key = self.request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 128:
            raise AppError(E.VALIDATION_FAILED, errors=[FieldError("Idempotency-Key", "TOO_LONG", "幂等键最长 128 个字符")])
        body = self.parse(RefundIn)
        refund, created = await self.deps.payments.refunds.request(
            account.actor(), account.display_name, school_id, bill_id, body, idempotency_key=key, raw=self.body)
        self.set_header("Location", f"/api/v1/schools/{school_id}/refunds/{refund['_id']}")
        self.send(RefundOut.of(refund), status=201 if created else 200)

    @operation(summary="账单的退费记录", tags=TAGS, response=RefundsOut, auth=True,
               errors=(*ACCESS_ERRORS, FE.BILL_NOT_FOUND))
    async def get(self, school_id: str, bill_id: str) -> None:
        account = await self.staff_account()
        refunds = await self.deps.payments.refunds.of_bill(account.actor(), school_id, bill_id)
        self.send(RefundsOut(items=[RefundOut.of(r) for r in refunds]))


class SchoolRefundsHandler(BaseHandler):
    @operation(summary="学校的退费申请", tags=TAGS, response=RefundsOut, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND),
               query=(("state", "只看这个状态，如 requested（待审批）"),),
               description="本校的学校财务可查看，最新的在前（最多 200 条）。")
    async def get(self, school_id: str) -> None:
        account = await self.staff_account()
        state = self.get_query_argument("state", None)
        if state is not None and state not in set(RefundState):
            raise AppError(E.VALIDATION_FAILED, errors=[FieldError("state", "STATE_UNKNOWN", "没有这个状态")])
        refunds = await self.deps.payments.refunds.of_school(account.actor(), school_id, [state] if state else None)
        self.send(RefundsOut(items=[RefundOut.of(r) for r in refunds]))


class RefundHandler(BaseHandler):
    @operation(summary="查看退费申请", tags=TAGS, response=RefundOut, auth=True,
               errors=(*ACCESS_ERRORS, RE.REFUND_NOT_FOUND))
    async def get(self, school_id: str, refund_id: str) -> None:
        account = await self.staff_account()
        self.send(RefundOut.of(await self.deps.payments.refunds.get(account.actor(), school_id, refund_id)))


class RefundApproveHandler(BaseHandler):
    @operation(summary="审批通过并提交退款", tags=TAGS, response=RefundOut, auth=True, errors=DECIDE_ERRORS,
               description=SECOND_PERSON + "通过后立即向原支付渠道提交退款（同一退款单号，重试不会重复退款）："
               "返回 processing（退款中，微信支付以退款结果通知、支付宝以查询确认）或 succeeded；渠道暂时不可用时"
               "保持 approved，由后台任务重新提交。")
    async def post(self, school_id: str, refund_id: str) -> None:
        account = await self.staff_account()
        refund = await self.deps.payments.refunds.approve(account.actor(), account.display_name, school_id, refund_id)
        self.send(RefundOut.of(refund))


class RefundRejectHandler(BaseHandler):
    @operation(summary="驳回（须说明原因）", tags=TAGS, request=RejectIn, response=RefundOut, auth=True,
               errors=DECIDE_ERRORS, description=SECOND_PERSON + "驳回后该金额重新计入可退金额。")
    async def post(self, school_id: str, refund_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(RejectIn)
        refund = await self.deps.payments.refunds.reject(account.actor(), account.display_name, school_id, refund_id,
                                                         body.reason)
        self.send(RefundOut.of(refund))


class RefundRetryHandler(BaseHandler):
    @operation(summary="重新发起失败的退费", tags=TAGS, response=RefundOut, status=201, auth=True,
               errors=(*ACCESS_ERRORS, RE.REFUND_NOT_FOUND, RE.REFUND_STATE_CONFLICT, RE.REFUND_RETRY_NOT_ALLOWED,
                       RE.REFUND_AMOUNT_EXCEEDED),
               description=FINANCE_ONLY + "只有支付渠道确认已失败且未退出任何款项的退费（渠道拒绝受理、退款关闭）可以"
               "重新发起：生成新的退款申请和新的退款单号，沿用原审批，立即提交渠道（201）。同一失败退费再次提交返回已"
               "重新发起的那一笔（200），不会重复退款。退款异常（款项滞留在渠道）等情况返回 409 REFUND_RETRY_NOT_ALLOWED，"
               "须在渠道商户平台处理。")
    async def post(self, school_id: str, refund_id: str) -> None:
        account = await self.staff_account()
        refund, created = await self.deps.payments.refunds.retry(account.actor(), account.display_name, school_id,
                                                                  refund_id)
        self.set_header("Location", f"/api/v1/schools/{school_id}/refunds/{refund['_id']}")
        self.send(RefundOut.of(refund), status=201 if created else 200)


class RefundBoardHandler(BaseHandler):
    @operation(summary="退费总览：按状态统计，列出待处理的失败退款", tags=TAGS, response=RefundBoardOut, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND),
               description="本校的学校财务可查看：学校财务申请的退费和未能入账款项的自动退回，各状态的笔数和金额；"
               "失败且尚未重新发起的退款逐笔列出，附渠道给出的原因和能否重新发起。")
    async def get(self, school_id: str) -> None:
        account = await self.staff_account()
        board = await self.deps.payments.late_refunds.board(account.actor(), school_id)
        self.send(RefundBoardOut(
            school={k: StateTotalOut(**v) for k, v in board["school"].items()},
            automatic={k: StateTotalOut(**v) for k, v in board["automatic"].items()},
            failed=[RefundOut.of(r) for r in board["failed"]],
            late_failed=[LatePaymentOut.of(o) for o in board["late_failed"]]))


class LatePaymentsHandler(BaseHandler):
    @operation(summary="未能入账、自动退回的付款", tags=TAGS, response=LatePaymentsOut, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND),
               query=(("refund_state", "只看这个退回状态，如 failed（退款失败）"),),
               description="订单已关闭、已失败，或账单已由另一笔付款缴清或已取消后才到账的款项，系统自动原路退回；"
               "这里列出本校的这些款项及其退回状态，失败的附渠道原因。本校的学校财务可查看，最新的在前（最多 200 条）。")
    async def get(self, school_id: str) -> None:
        account = await self.staff_account()
        state = self.get_query_argument("refund_state", None)
        if state is not None and state not in set(LateRefundState):
            raise AppError(E.VALIDATION_FAILED, errors=[FieldError("refund_state", "STATE_UNKNOWN", "没有这个状态")])
        orders = await self.deps.payments.late_refunds.of_school(account.actor(), school_id, [state] if state else None)
        self.send(LatePaymentsOut(items=[LatePaymentOut.of(o) for o in orders]))


class LatePaymentRetryHandler(BaseHandler):
    @operation(summary="重新发起失败的自动退回", tags=TAGS, request=LateRetryIn, response=LatePaymentOut, status=201,
               auth=True, errors=(*ACCESS_ERRORS, RE.LATE_PAYMENT_NOT_FOUND, RE.REFUND_NOT_FOUND,
                                  RE.REFUND_STATE_CONFLICT, RE.REFUND_RETRY_NOT_ALLOWED),
               description=FINANCE_ONLY + "写明失败的那次退款的退款单号。只有渠道确认已失败且未退出任何款项时，才用"
               "新的退款单号再次原路退回并立即提交渠道（201）；重复提交返回已重新发起的那一次（200）。")
    async def post(self, school_id: str, order_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(LateRetryIn)
        order, created = await self.deps.payments.late_refunds.retry(account.actor(), school_id, order_id,
                                                                     body.out_refund_no)
        self.send(LatePaymentOut.of(order), status=201 if created else 200)


ROUTES = [
    route("/api/v1/schools/{school_id}/bills/{bill_id}/refunds", BillRefundsHandler),
    route("/api/v1/schools/{school_id}/refunds", SchoolRefundsHandler),
    route("/api/v1/schools/{school_id}/refunds/{refund_id}", RefundHandler),
    route("/api/v1/schools/{school_id}/refunds/{refund_id}/approve", RefundApproveHandler),
    route("/api/v1/schools/{school_id}/refunds/{refund_id}/reject", RefundRejectHandler),
    route("/api/v1/schools/{school_id}/refunds/{refund_id}/retry", RefundRetryHandler),
    route("/api/v1/schools/{school_id}/refunds/board", RefundBoardHandler),
    route("/api/v1/schools/{school_id}/late-payments", LatePaymentsHandler),
    route("/api/v1/schools/{school_id}/late-payments/{order_id}/refund/retry", LatePaymentRetryHandler),
]
