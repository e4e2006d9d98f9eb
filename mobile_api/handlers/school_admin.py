"""Staff endpoints of schools: register a school, its classes and roster, link codes, the bills export.

Who may do what is decided by `accounts.scopes` through the services (payments/): an education department's
dept_admin registers schools inside its region; the school's own school_finance staff (their department_id is
the school's code) work on its roster, issue link codes and export bills; supervisors read.
"""

from __future__ import annotations

from urllib.parse import quote

from accounts import errors as AE
from core import errors as E
from core.errors import AppError
from mobile_api.base import BaseHandler
from mobile_api.handlers.school_models import (
    ClassesOut,
    ClassOut,
    LinkCodeOut,
    SchoolOut,
    StudentOut,
    StudentsOut,
)
from mobile_api.openapi import operation
from mobile_api.routing import route
from payments import fee_errors as FE
from payments.roster_sheet import XLSX_MEDIA_TYPE
from payments.schools import SchoolIn

TAGS = ["学校收费"]
ACCESS_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN)
PAGE = 200


def send_xlsx(handler: BaseHandler, data: bytes, filename: str) -> None:
    handler.set_header("Content-Type", XLSX_MEDIA_TYPE)
    handler.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(filename)}")
    handler.finish(data)


class SchoolsHandler(BaseHandler):
    @operation(summary="登记学校（教育部门管理员）", tags=TAGS, request=SchoolIn, response=SchoolOut, status=201, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_CODE_TAKEN),
               description="只有教育行政部门的部门管理员（dept_admin）可以在本辖区内登记学校；学校归属于该教育部门，"
               "并指定负责审核收费项目的价格主管部门（发改局）。学校的统一社会信用代码同时是其学校财务人员账号的部门编号"
               "（由系统管理员以 school_finance 角色创建）。")
    async def post(self) -> None:
        account = await self.staff_account()
        school = await self.deps.school_fees.schools.create(account.actor(), self.parse(SchoolIn))
        self.send(SchoolOut.of(school), status=201)


class SchoolHandler(BaseHandler):
    @operation(summary="查看学校", tags=TAGS, response=SchoolOut, auth=True, errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND),
               description="本校学校财务、主管教育部门管理员和辖区电子监察可以查看。")
    async def get(self, school_id: str) -> None:
        account = await self.staff_account()
        self.send(SchoolOut.of(await self.deps.school_fees.schools.get(account.actor(), school_id)))


class ClassesHandler(BaseHandler):
    @operation(summary="学校的班级（由花名册导入生成）", tags=TAGS, response=ClassesOut, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND))
    async def get(self, school_id: str) -> None:
        account = await self.staff_account()
        fees = self.deps.school_fees
        await fees.schools.get(account.actor(), school_id)
        counts = await fees.students.count_by_class(school_id)
        classes = await fees.classes.of_school(school_id)
        self.send(ClassesOut(items=[ClassOut(id=c["_id"], grade=c["grade"], name=c["name"],
                                             students=counts.get(c["_id"], 0)) for c in classes]))


class ClassStudentsHandler(BaseHandler):
    @operation(summary="班级学生名单（身份证号、手机号脱敏）", tags=TAGS, response=StudentsOut, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND, FE.CLASS_NOT_FOUND),
               query=(("after", "上一页最后一名学生的学号"),))
    async def get(self, school_id: str, class_id: str) -> None:
        account = await self.staff_account()
        fees = self.deps.school_fees
        await fees.schools.get(account.actor(), school_id)
        klass = await fees.classes.get(class_id)
        if klass is None or klass["school_id"] != school_id:
            raise AppError(FE.CLASS_NOT_FOUND)
        rows = await fees.students.of_class(school_id, class_id, after=self.get_query_argument("after", None),
                                            limit=PAGE + 1)
        self.send(StudentsOut(items=[StudentOut.of(s) for s in rows[:PAGE]],
                              next_cursor=rows[PAGE - 1]["student_no"] if len(rows) > PAGE else None))


class LinkCodeHandler(BaseHandler):
    @operation(summary="为学生发放一次性关联码（学校财务）", tags=TAGS, response=LinkCodeOut, status=201, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND, FE.STUDENT_NOT_FOUND),
               description="家长手机号未在学校登记时使用：家长凭关联码加学生姓名、身份证号关联孩子。关联码只显示这一次，"
               "14 天内有效，只能使用一次；再次发放会使该学生尚未使用的旧码失效。")
    async def post(self, school_id: str, student_id: str) -> None:
        account = await self.staff_account()
        code, expires_at = await self.deps.school_fees.link_codes.issue(account.actor(), school_id, student_id)
        self.send(LinkCodeOut(student_id=student_id, code=code, expires_at=expires_at), status=201)


class ClassBillsExportHandler(BaseHandler):
    @operation(summary="导出班级账单与缴费情况（xlsx）", tags=TAGS, raw_response=XLSX_MEDIA_TYPE, auth=True,
               errors=(*ACCESS_ERRORS, FE.SCHOOL_NOT_FOUND, FE.CLASS_NOT_FOUND),
               query=(("fee_item_id", "只导出这个收费项目的账单"),),
               description="每张账单一行：学号、姓名、年级、班级、收费项目、学期、金额（元）、状态、缴费时间、支付渠道、"
               "交易单号、取消原因。不导出身份证号和手机号。")
    async def get(self, school_id: str, class_id: str) -> None:
        account = await self.staff_account()
        data, filename = await self.deps.school_fees.export.class_bills(
            account.actor(), school_id, class_id, self.get_query_argument("fee_item_id", None) or None)
        send_xlsx(self, data, filename)



ROUTES = [
    route("/api/v1/admin/schools", SchoolsHandler),
    route("/api/v1/schools/{school_id}", SchoolHandler),
    route("/api/v1/schools/{school_id}/classes", ClassesHandler),
    route("/api/v1/schools/{school_id}/classes/{class_id}/students", ClassStudentsHandler),
    route("/api/v1/schools/{school_id}/classes/{class_id}/bills/export", ClassBillsExportHandler),
    route("/api/v1/schools/{school_id}/students/{student_id}/link-codes", LinkCodeHandler),
]
