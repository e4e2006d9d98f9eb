"""Request and response models of school fees (what the OpenAPI document shows). ID and phone numbers appear
only masked; money is integer fen, with a yuan string beside it for display."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from mobile_api.handlers.accounts_models import Strict
from payments.bills import BILL_STATE_LABELS, BillState
from payments.fee_item_model import STATE_LABELS, FeeItemState
from payments.money import fen_to_yuan
from payments.student_leaving import KIND_LABELS, LeaveKind


class DepartmentRefOut(BaseModel):
    code: str
    name: str


class SchoolOut(BaseModel):
    code: str = Field(description="学校的统一社会信用代码；学校财务人员账号的 department_id 即为此值")
    name: str
    region_code: str
    education_department: DepartmentRefOut = Field(description="主管教育部门（联审方之一）")
    price_department: DepartmentRefOut = Field(description="价格主管部门（联审方之一）")
    created_at: datetime

    @classmethod
    def of(cls, doc: dict[str, Any]) -> SchoolOut:
        return cls(code=doc["_id"], name=doc["name"], region_code=doc["region_code"],
                   education_department=DepartmentRefOut(**doc["education_department"]),
                   price_department=DepartmentRefOut(**doc["price_department"]), created_at=doc["created_at"])


class ClassOut(BaseModel):
    id: str
    grade: str
    name: str
    students: int = Field(description="花名册中的学生人数")


class ClassesOut(BaseModel):
    items: list[ClassOut]


class LeftOut(BaseModel):
    left_on: date = Field(description="离校日期")
    kind: LeaveKind = Field(description="transfer 转学，withdrawal 退学")
    kind_label: str
    reason: str
    recorded_at: datetime
    recorded_by: str | None = Field(description="登记的学校财务人员编号")
    bills_cancelled: list[str] = Field(description="离校时取消的未缴账单")


class StudentOut(BaseModel):
    id: str
    student_no: str
    name: str
    grade: str
    class_id: str
    class_name: str
    id_number: str = Field(description="学生身份证号（脱敏）", examples=["430124********5732"])
    guardian_phones: list[str] = Field(description="在学校登记的监护人手机号（脱敏）", examples=[["138****0003"]])
    guardians_linked: int = Field(description="已在掌上办关联的家长人数（最多 2 位）")
    left: LeftOut | None = Field(None, description="已离校（退学、转学）时的登记；在读为空")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> StudentOut:
        left = doc.get("left")
        return cls(id=doc["_id"], student_no=doc["student_no"], name=doc["name"], grade=doc["grade"],
                   class_id=doc["class_id"], class_name=doc["class_name"], id_number=doc["id_number"]["masked"],
                   guardian_phones=[p["masked"] for p in doc.get("guardian_phones", [])],
                   guardians_linked=len(doc.get("guardian_person_ids", [])),
                   left=LeftOut(left_on=left["on"], kind=left["kind"], kind_label=KIND_LABELS[LeaveKind(left["kind"])],
                                reason=left["reason"], recorded_at=left["at"], recorded_by=left.get("by"),
                                bills_cancelled=left.get("bills_cancelled") or []) if left else None)


class StudentsOut(BaseModel):
    items: list[StudentOut]
    next_cursor: str | None = Field(description="下一页的 after 参数（学号）；为空表示没有更多")


class LinkCodeOut(BaseModel):
    student_id: str
    code: str = Field(description="一次性关联码，只显示这一次；交给家长，与学生姓名、身份证号一起使用", examples=["K7QM-4TXP"])
    expires_at: datetime


class RosterIssueOut(BaseModel):
    row: int | None = Field(description="Excel 行号（表头为第 1 行）；为空表示整个文件")
    column: str | None = Field(description="列名")
    student_no: str | None
    errcode: str = Field(description="如 CITIZEN_ID_CHECKSUM、PHONE_LENGTH、DUPLICATE_STUDENT_NO")
    reason: str = Field(description="中文原因（不含身份证号、手机号）")


class RosterJobOut(BaseModel):
    job_id: str
    state: Literal["queued", "validating", "importing", "done", "failed"] = Field(
        description="queued 排队中，validating 校验中，importing 写入中，done 已导入，failed 未导入（见 issues）")
    progress: int = Field(ge=0, le=100, description="进度百分比")
    school_id: str
    school_name: str
    file_sha256: str
    file_size: int
    counts: dict[str, int] = Field(description="rows 行数；完成后 created、updated、unchanged，有已离校学生时另有 "
                                               "left_kept（仍在花名册中、未恢复为在读的人数）；失败时 issues")
    issues: list[RosterIssueOut]
    issues_total: int = Field(description="错误总数（报告最多列出 2000 条）")
    notices: list[RosterIssueOut] = Field(description="导入成功但须留意的行，如 STUDENT_LEFT：该学生已办理离校，"
                                                      "本次导入未恢复为在读，也未更新其信息")
    message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: dict[str, Any]) -> RosterJobOut:
        return cls(job_id=job["_id"], state=job["state"], progress=job["progress"], school_id=job["school_id"],
                   school_name=job["school_name"], file_sha256=job["sha256"], file_size=job["size"],
                   counts=job.get("counts") or {}, issues=[RosterIssueOut(**i) for i in job.get("issues") or []],
                   issues_total=job.get("issues_total", 0), message=job.get("message"),
                   notices=[RosterIssueOut(**i) for i in job.get("notices") or []],
                   created_at=job["created_at"], started_at=job.get("started_at"), finished_at=job.get("finished_at"))


class ReviewOut(BaseModel):
    department_code: str
    department_name: str
    decision: Literal["pending", "approved", "rejected"] = Field(description="本轮审核意见：待审、通过、退回")
    by: str | None = Field(description="审核人（工作人员编号）")
    at: datetime | None
    reason: str | None = Field(description="退回原因")


class RejectionOut(BaseModel):
    round: int
    side: Literal["education", "price"]
    reason: str
    at: datetime


class ClassRefOut(BaseModel):
    id: str
    grade: str
    name: str


class BillsProgressOut(BaseModel):
    state: Literal["none", "pending", "running", "done", "stopped"] = Field(
        description="账单生成：none 未发布，pending 排队中，running 生成中，done 已生成，stopped 已撤回而停止")
    generated: int = Field(description="已生成的账单数")
    cancelled: int = Field(0, description="撤回时取消的未缴账单数")


class FeeItemOut(BaseModel):
    id: str
    school_id: str
    school_name: str
    name: str
    amount_fen: int = Field(description="每名学生应缴金额（分）")
    amount_yuan: str = Field(description="同一金额（元，两位小数），仅供显示", examples=["120.00"])
    term: str
    grades: list[str]
    classes: list[ClassRefOut]
    basis: str = Field(description="收费依据")
    description: str | None
    state: FeeItemState = Field(description="draft 草稿，under_review 联审中，approved 已通过联审，published 已发布，"
                                            "withdrawn 已撤回")
    state_label: str
    revision: int = Field(description="修改、提交、审核、发布、撤回时原样带回；已被他人修改时返回 409")
    round: int = Field(description="第几轮联审")
    reviews: dict[str, ReviewOut] = Field(description="education 教育部门、price 价格主管部门的本轮审核意见")
    rejections: list[RejectionOut] = Field(description="历次退回及原因")
    bills: BillsProgressOut
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None
    published_at: datetime | None
    withdrawn_at: datetime | None
    withdraw_reason: str | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> FeeItemOut:
        bills = doc.get("bills") or {}
        return cls(
            id=doc["_id"], school_id=doc["school_id"], school_name=doc["school_name"], name=doc["name"],
            amount_fen=doc["amount_fen"], amount_yuan=fen_to_yuan(doc["amount_fen"]), term=doc["term"],
            grades=doc["grades"], classes=[ClassRefOut(**c) for c in doc.get("classes", [])], basis=doc["basis"],
            description=doc.get("description"), state=doc["state"], state_label=STATE_LABELS[FeeItemState(doc["state"])],
            revision=doc["revision"], round=doc.get("round", 0),
            reviews={side: ReviewOut(**r) for side, r in doc["reviews"].items()},
            rejections=[RejectionOut(round=r["round"], side=r["side"], reason=r["reason"], at=r["at"])
                        for r in doc.get("rejections", [])],
            bills=BillsProgressOut(state=bills.get("state", "none"), generated=bills.get("generated", 0),
                                   cancelled=bills.get("cancelled", 0)),
            created_at=doc["created_at"], updated_at=doc["updated_at"], submitted_at=doc.get("submitted_at"),
            approved_at=doc.get("approved_at"), published_at=doc.get("published_at"),
            withdrawn_at=doc.get("withdrawn_at"), withdraw_reason=doc.get("withdraw_reason"))


class FeeItemsOut(BaseModel):
    items: list[FeeItemOut]


class BillOut(BaseModel):
    id: str
    fee_item_id: str
    school_id: str
    school_name: str
    student_id: str
    student_name: str
    student_no: str
    grade: str
    class_name: str
    item_name: str
    term: str
    basis: str = Field(description="收费依据")
    description: str | None
    amount_fen: int = Field(description="应缴金额（分）")
    amount_yuan: str = Field(description="同一金额（元），仅供显示")
    state: BillState = Field(description="unpaid 待缴费，paid 已缴费，cancelled 已取消（收费项目已撤回或学生已离校），"
                                         "refunded 已退费")
    state_label: str
    created_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> BillOut:
        return cls(id=doc["_id"], fee_item_id=doc["fee_item_id"], school_id=doc["school_id"],
                   school_name=doc["school_name"], student_id=doc["student_id"], student_name=doc["student_name"],
                   student_no=doc["student_no"], grade=doc["grade"], class_name=doc["class_name"],
                   item_name=doc["item"]["name"], term=doc["item"]["term"], basis=doc["item"]["basis"],
                   description=doc["item"].get("description"), amount_fen=doc["amount_fen"],
                   amount_yuan=fen_to_yuan(doc["amount_fen"]), state=doc["state"],
                   state_label=BILL_STATE_LABELS[BillState(doc["state"])], created_at=doc["created_at"],
                   paid_at=doc.get("paid_at"), cancelled_at=doc.get("cancelled_at"),
                   cancel_reason=doc.get("cancel_reason"))


class BillsOut(BaseModel):
    items: list[BillOut]


class LinkIn(Strict):
    name: str = Field(min_length=1, max_length=30, description="学生姓名（与学校登记的一致）", examples=["陈思远"])
    id_number: str = Field(min_length=15, max_length=24, description="学生的 18 位居民身份证号码")
    code: str | None = Field(None, min_length=8, max_length=16,
                             description="学校发放的一次性关联码；不填则核对本人已验证的手机号是否为学校登记的监护人手机号")


class ChildOut(BaseModel):
    student_id: str
    name: str
    school_id: str
    school_name: str
    grade: str
    class_name: str
    student_no: str
    id_number: str = Field(description="学生身份证号（脱敏）")
    guardians: int = Field(description="已关联的家长人数（最多 2 位）")
    linked_at: datetime | None = Field(description="本人关联的时间")
    via: Literal["phone", "code"] | None = Field(description="关联方式：phone 登记手机号核验，code 学校关联码")
    left_on: date | None = Field(None, description="已从该校离校（退学、转学）时的离校日期；已缴账单和票据仍可查看")

    @classmethod
    def of(cls, doc: dict[str, Any], person_id: str, school_name: str) -> ChildOut:
        mine = next((g for g in doc.get("guardians", []) if g["person_id"] == person_id), {})
        return cls(student_id=doc["_id"], name=doc["name"], school_id=doc["school_id"], school_name=school_name,
                   grade=doc["grade"], class_name=doc["class_name"], student_no=doc["student_no"],
                   id_number=doc["id_number"]["masked"], guardians=len(doc.get("guardian_person_ids", [])),
                   linked_at=mine.get("linked_at"), via=mine.get("via"), left_on=(doc.get("left") or {}).get("on"))


class ChildrenOut(BaseModel):
    items: list[ChildOut]
