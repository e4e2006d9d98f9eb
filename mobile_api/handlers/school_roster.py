"""Staff endpoints of roster imports (花名册): the blank template, the upload (a Celery job) and the job's report;
and students leaving the roster (退学/转学, payments/student_leaving.py).

An upload is the raw xlsx body (up to 5 MB, 413 from Content-Length before the body is read); the handler only
stores it and creates the job (202). The worker checks every row and, when all are good, upserts the students
by student number; the job's URL shows progress and the row-by-row report (students who left and are still on
the roster stay left: its `notices` say so).
"""

from __future__ import annotations

from accounts import errors as AE
from core import errors as E
from mobile_api.base import BaseHandler
from mobile_api.handlers.school_admin import send_xlsx
from mobile_api.handlers.school_models import RosterJobOut, StudentOut
from mobile_api.openapi import operation
from mobile_api.routing import route
from payments import fee_errors as FE
from payments.roster_jobs import MAX_ROSTER_BYTES
from payments.roster_sheet import XLSX_MEDIA_TYPE
from payments.student_leaving import LeaveIn

TAGS = ["学校收费"]
ACCESS_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN, FE.SCHOOL_NOT_FOUND)
LAYOUT = ("工作表「花名册」，列：学号、姓名、年级、班级、学生身份证号、监护人手机号1、监护人手机号2（后两列可空）。")


class RosterTemplateHandler(BaseHandler):
    @operation(summary="下载花名册模板（xlsx）", tags=TAGS, auth=True, raw_response=XLSX_MEDIA_TYPE, errors=ACCESS_ERRORS,
               description=LAYOUT + "每列都已设为文本格式，身份证号不会被 Excel 改成科学计数法。")
    async def get(self, school_id: str) -> None:
        account = await self.staff_account()
        await self.deps.school_fees.schools.get(account.actor(), school_id)
        send_xlsx(self, await self.deps.school_fees.roster.template(), "roster-template.xlsx")


class RosterImportsHandler(BaseHandler):
    max_body_bytes = MAX_ROSTER_BYTES

    @operation(
        summary="上传花名册（异步任务）", tags=TAGS, auth=True, response=RosterJobOut, status=202,
        raw_request=XLSX_MEDIA_TYPE, errors=(*ACCESS_ERRORS, FE.ROSTER_FILE_INVALID, E.SERVICE_UNAVAILABLE),
        description="只有本校的学校财务（school_finance）可以导入。请求体为 xlsx 文件本身，不超过 5 MB。" + LAYOUT
        + "返回 202 和任务，在任务地址查看进度和报告。任一单元格有误（身份证号校验位、手机号、重复学号等）则不导入"
        "任何学生，报告逐行列出行号、列名和原因；全部正确时按学号新增或更新学生（已关联的家长不受影响）。"
        "同一文件正在导入时再次上传返回该任务（200）；导入完成后再次导入同一文件，所有学生均为“未变”。",
    )
    async def post(self, school_id: str) -> None:
        account = await self.staff_account()
        data = self.raw_body(XLSX_MEDIA_TYPE, "xlsx 工作簿")
        job, created = await self.deps.school_fees.roster.submit(account.actor(), school_id, data)
        self.set_header("Location", f"/api/v1/schools/{school_id}/roster/imports/{job['_id']}")
        self.send(RosterJobOut.of(job), status=202 if created else 200)


class RosterImportHandler(BaseHandler):
    @operation(summary="查看花名册导入任务：状态、进度和报告", tags=TAGS, auth=True, response=RosterJobOut,
               errors=(*ACCESS_ERRORS, FE.ROSTER_IMPORT_NOT_FOUND))
    async def get(self, school_id: str, job_id: str) -> None:
        account = await self.staff_account()
        self.send(RosterJobOut.of(await self.deps.school_fees.roster.get(account.actor(), school_id, job_id)))


class StudentLeavingHandler(BaseHandler):
    @operation(
        summary="登记学生离校（退学、转学）", tags=TAGS, auth=True, request=LeaveIn, response=StudentOut, status=201,
        errors=(*ACCESS_ERRORS, FE.STUDENT_NOT_FOUND, FE.STUDENT_ALREADY_LEFT, E.VALIDATION_FAILED),
        description="只有本校的学校财务（school_finance）可以登记。登记后该学生所有未缴账单立即取消（已关联的家长收到"
        "“缴费通知已撤销”），已缴、已退费的账单和电子票据不受影响，家长仍可查看；此后不再为该学生生成账单；再次导入"
        "仍列有该学生的花名册时不会恢复为在读，导入报告的 notices 逐行说明。以相同内容再次提交返回 200 且不重复处理；"
        "内容不同返回 409 STUDENT_ALREADY_LEFT。")
    async def post(self, school_id: str, student_id: str) -> None:
        account = await self.staff_account()
        student, created = await self.deps.school_fees.leaving.leave(account.actor(), school_id, student_id,
                                                                     self.parse(LeaveIn))
        self.send(StudentOut.of(student), status=201 if created else 200)


ROUTES = [
    route("/api/v1/schools/{school_id}/roster/template", RosterTemplateHandler),
    route("/api/v1/schools/{school_id}/roster/imports", RosterImportsHandler),
    route("/api/v1/schools/{school_id}/roster/imports/{job_id}", RosterImportHandler),
    route("/api/v1/schools/{school_id}/students/{student_id}/leaving", StudentLeavingHandler),
]
