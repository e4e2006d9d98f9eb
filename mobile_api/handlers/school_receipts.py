"""E-receipts (电子票据) and reconciliation reports (对账) over HTTP; the rules are in payments/payment_records.py.

- A parent reads and downloads the receipt of a bill of a child linked to them (anyone else's: 404
  RESOURCE_NOT_FOUND, like a missing bill); the school's finance staff download those of their school's bills.
- The credit notes (红字票据) of a bill's refunds are read and downloaded by the same people as its receipt.
- `GET /api/v1/receipts/verify?no=…&code=…` is the QR code's target (of receipts and credit notes alike):
  public, limited per IP, answering only whether it is genuine and its non-sensitive fields.
- School finance reads its school's reconciliation discrepancies and re-runs a day.
"""

from __future__ import annotations

from urllib.parse import quote

from accounts import errors as AE
from core import errors as E
from core.errors import AppError, FieldError
from mobile_api.base import BaseHandler
from mobile_api.handlers.school_parents import person_actor
from mobile_api.handlers.school_records_models import (
    ChannelRunOut,
    CreditNoteOut,
    CreditNotesOut,
    ReceiptCheckOut,
    ReceiptOut,
    ReconciliationReportOut,
    ReconciliationReportsOut,
    ReconciliationRunIn,
    ReconciliationRunOut,
)
from mobile_api.openapi import operation
from mobile_api.routing import route
from payments import fee_errors as FE
from payments import receipt_errors as RE
from payments.credit_notes import CreditNote
from payments.receipts import Receipt

PARENT_TAGS = ["学校收费（家长）"]
STAFF_TAGS = ["学校收费"]
PUBLIC_TAGS = ["电子票据查验"]
STAFF_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN)
PDF = "application/pdf"
MAX_TYPED = 40


def send_pdf(handler: BaseHandler, data: bytes, receipt: Receipt | CreditNote) -> None:
    handler.set_header("Content-Type", PDF)
    handler.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(receipt.number)}.pdf")
    handler.finish(data)


class MyReceiptHandler(BaseHandler):
    @operation(summary="账单的电子票据", tags=PARENT_TAGS, response=ReceiptOut, auth=True,
               errors=(AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND, RE.RECEIPT_NOT_FOUND),
               description="缴费成功后自动开具（通常几秒内）。只有该学生已关联的家长可以查看；尚未开具返回 404 "
               "RECEIPT_NOT_FOUND。退费成功后票据本身不变，credit_state 和 credit_notes 说明已部分或全额冲红。")
    async def get(self, bill_id: str) -> None:
        principal = await self.resident()
        records = self.deps.payment_records.receipts
        receipt = await records.for_parent(person_actor(principal), bill_id)
        self.send(ReceiptOut.of(receipt, self.deps.settings.base_url, await records.credit(receipt)))


class MyReceiptPdfHandler(BaseHandler):
    @operation(summary="下载电子票据（PDF）", tags=PARENT_TAGS, auth=True, raw_response=PDF,
               errors=(AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND, RE.RECEIPT_NOT_FOUND),
               description="A5 横版一页：票据号码、缴费人（脱敏）、学生、学校、收费项目、大写与小写金额、支付渠道与"
               "交易单号、查验二维码和校验码。")
    async def get(self, bill_id: str) -> None:
        principal = await self.resident()
        records = self.deps.payment_records.receipts
        receipt = await records.for_parent(person_actor(principal), bill_id)
        send_pdf(self, await records.pdf(receipt), receipt)


class MyCreditNotesHandler(BaseHandler):
    @operation(summary="账单的红字票据（冲红）", tags=PARENT_TAGS, response=CreditNotesOut, auth=True,
               errors=(AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND, RE.RECEIPT_NOT_FOUND),
               description="学校退费成功后，每笔退款开具一张红字票据，金额为负数（部分退费即部分冲红），注明原电子票据"
               "号码和冲红原因，并有自己的号码、校验码和查验二维码。只有该学生已关联的家长可以查看；没有退费时为空列表。")
    async def get(self, bill_id: str) -> None:
        principal = await self.resident()
        notes = await self.deps.payment_records.receipts.credit_notes_for_parent(person_actor(principal), bill_id)
        base = self.deps.settings.base_url
        self.send(CreditNotesOut(items=[CreditNoteOut.of(n, base) for n in notes]))


class MyCreditNotePdfHandler(BaseHandler):
    @operation(summary="下载红字票据（PDF）", tags=PARENT_TAGS, auth=True, raw_response=PDF,
               errors=(AE.RESIDENT_ONLY, AE.RESOURCE_NOT_FOUND, RE.RECEIPT_NOT_FOUND, RE.CREDIT_NOTE_NOT_FOUND),
               description="与电子票据同样的版式，标明“红字·冲红”，金额为负数（红色），注明原票据号码、退款单号和冲红"
               "原因，附查验二维码和校验码。")
    async def get(self, bill_id: str, number: str) -> None:
        principal = await self.resident()
        records = self.deps.payment_records.receipts
        note = await records.credit_note_for_parent(person_actor(principal), bill_id, number)
        send_pdf(self, await records.credit_note_pdf(note), note)


class SchoolCreditNotePdfHandler(BaseHandler):
    @operation(summary="下载本校账单的红字票据（PDF）", tags=STAFF_TAGS, auth=True, raw_response=PDF,
               errors=(*STAFF_ERRORS, FE.BILL_NOT_FOUND, RE.RECEIPT_NOT_FOUND, RE.CREDIT_NOTE_NOT_FOUND),
               description="本校的学校财务（school_finance）可以下载本校账单退费后开具的红字票据。")
    async def get(self, school_id: str, bill_id: str, number: str) -> None:
        account = await self.staff_account()
        records = self.deps.payment_records.receipts
        note = await records.credit_note_for_school(account.actor(), school_id, bill_id, number)
        send_pdf(self, await records.credit_note_pdf(note), note)


class SchoolReceiptPdfHandler(BaseHandler):
    @operation(summary="下载本校账单的电子票据（PDF）", tags=STAFF_TAGS, auth=True, raw_response=PDF,
               errors=(*STAFF_ERRORS, FE.BILL_NOT_FOUND, RE.RECEIPT_NOT_FOUND),
               description="本校的学校财务（school_finance）可以下载本校已缴账单的电子票据。")
    async def get(self, school_id: str, bill_id: str) -> None:
        account = await self.staff_account()
        records = self.deps.payment_records.receipts
        receipt = await records.for_school(account.actor(), school_id, bill_id)
        send_pdf(self, await records.pdf(receipt), receipt)


class ReceiptVerifyHandler(BaseHandler):
    @operation(summary="查验电子票据（二维码地址）", tags=PUBLIC_TAGS, response=ReceiptCheckOut,
               errors=(E.VALIDATION_FAILED, RE.RECEIPT_CHECKS_EXCEEDED),
               query=(("no", "票据号码，如 ZSB20260901000123"), ("code", "校验码，如 7KQ2M-X9D4T（不区分大小写）")),
               description="无需登录。电子票据和红字票据（ZSBH 开头）都在此查验。号码与校验码相符时 genuine 为 true，"
               "并只返回票据号码、脱敏的缴费人、金额（红字票据为负数）、缴费或退款时间和收款学校，电子票据另有冲红情况，"
               "红字票据另有原票据号码；号码不存在与校验码错误的回答相同。每个 IP 每分钟最多 20 次、每天 200 次，"
               "超出返回 429（Retry-After）。")
    async def get(self) -> None:
        number, code = (self.get_query_argument(name, "").strip() for name in ("no", "code"))
        problems = [FieldError(name, "REQUIRED" if not value else "TOO_LONG",
                               f"请填写{label}" if not value else f"{label}过长")
                    for name, value, label in (("no", number, "票据号码"), ("code", code, "校验码"))
                    if not value or len(value) > MAX_TYPED]
        if problems:
            raise AppError(E.VALIDATION_FAILED, errors=problems)
        checked = await self.deps.payment_records.receipts.check(number, code, ip=self.request.remote_ip or "")
        self.send(ReceiptCheckOut.of(checked))


class SchoolReconciliationHandler(BaseHandler):
    @operation(summary="本校的对账差异", tags=STAFF_TAGS, auth=True, response=ReconciliationReportsOut,
               errors=(*STAFF_ERRORS, FE.SCHOOL_NOT_FOUND),
               description="每日对账（北京时间 10:30 核对前一天微信支付和支付宝的交易账单）中涉及本校订单的差异，"
               "按日期倒序，最多 30 天；没有差异的日子不列出。本校学校财务、所属教育部门管理员和电子监察可以查看。")
    async def get(self, school_id: str) -> None:
        account = await self.staff_account()
        reports = await self.deps.payment_records.reconciliation.for_school(account.actor(), school_id)
        self.send(ReconciliationReportsOut(items=[ReconciliationReportOut.of(r) for r in reports]))


class SchoolReconciliationRunsHandler(BaseHandler):
    @operation(summary="重新对账某一天", tags=STAFF_TAGS, auth=True, request=ReconciliationRunIn,
               response=ReconciliationRunOut,
               errors=(*STAFF_ERRORS, FE.SCHOOL_NOT_FOUND, RE.RECONCILIATION_DAY_INVALID,
                       RE.RECONCILIATION_RUNS_EXCEEDED),
               description="本校学校财务可以重新下载某一天（今天以前、90 天以内）两个渠道的交易账单并重新核对；"
               "结果替换当日原有报告，可重复执行。某个渠道的账单暂时取不到时该渠道为 failed，原有报告保留。"
               "每校每小时最多 10 次。")
    async def post(self, school_id: str) -> None:
        account = await self.staff_account()
        body = self.parse(ReconciliationRunIn)
        runs, reports = await self.deps.payment_records.reconciliation.rerun(account.actor(), school_id, body.day)
        self.send(ReconciliationRunOut(
            day=body.day, runs=[ChannelRunOut(channel=r.channel, status=r.status, error=r.error) for r in runs],
            reports=[ReconciliationReportOut.of(r) for r in reports]))


ROUTES = [
    route("/api/v1/me/bills/{bill_id}/receipt", MyReceiptHandler),
    route("/api/v1/me/bills/{bill_id}/receipt/pdf", MyReceiptPdfHandler),
    route("/api/v1/schools/{school_id}/bills/{bill_id}/receipt/pdf", SchoolReceiptPdfHandler),
    route("/api/v1/me/bills/{bill_id}/credit-notes", MyCreditNotesHandler),
    route("/api/v1/me/bills/{bill_id}/credit-notes/{number}/pdf", MyCreditNotePdfHandler),
    route("/api/v1/schools/{school_id}/bills/{bill_id}/credit-notes/{number}/pdf", SchoolCreditNotePdfHandler),
    route("/api/v1/receipts/verify", ReceiptVerifyHandler),
    route("/api/v1/schools/{school_id}/reconciliation", SchoolReconciliationHandler),
    route("/api/v1/schools/{school_id}/reconciliation/runs", SchoolReconciliationRunsHandler),
]
