"""Error codes of school fees (schools, rosters, fee items, bills, parent–child links), declared once via `define()`.

The provider adapters raise their own exception types (payments/errors.py); these are what the API answers.
A resident refused someone else's child or bill gets `RESOURCE_NOT_FOUND` (accounts/scopes.py policy), the same
answer a missing record gives, so these codes are for staff and for a resident's own records.
"""

from __future__ import annotations

from core.errors import define

SCHOOL_NOT_FOUND = define("SCHOOL_NOT_FOUND", 404, "学校不存在")
SCHOOL_CODE_TAKEN = define("SCHOOL_CODE_TAKEN", 409, "该统一社会信用代码的学校已登记")
CLASS_NOT_FOUND = define("CLASS_NOT_FOUND", 404, "班级不存在")
STUDENT_NOT_FOUND = define("STUDENT_NOT_FOUND", 404, "学生不存在")
STUDENT_ALREADY_LEFT = define("STUDENT_ALREADY_LEFT", 409, "该学生已办理离校，离校日期、类型或原因与本次提交的不同")

# Roster (花名册) import: bad rows are not errcodes of the request but lines of the job's report.
ROSTER_IMPORT_NOT_FOUND = define("ROSTER_IMPORT_NOT_FOUND", 404, "花名册导入任务不存在")
ROSTER_FILE_INVALID = define("ROSTER_FILE_INVALID", 422, "上传的文件不是 xlsx 工作簿，请使用花名册模板填写后上传")

# Fee items (收费项目): a step the state does not allow is 409 with `state` in the body; a write based on an old
# read (the `revision` sent is not the current one) is the generic 409 CONFLICT.
FEE_ITEM_NOT_FOUND = define("FEE_ITEM_NOT_FOUND", 404, "收费项目不存在")
FEE_ITEM_STATE_CONFLICT = define("FEE_ITEM_STATE_CONFLICT", 409, "收费项目当前状态不允许此操作，请刷新后重试")

BILL_NOT_FOUND = define("BILL_NOT_FOUND", 404, "账单不存在")
BILL_STATE_CONFLICT = define("BILL_STATE_CONFLICT", 409, "账单当前状态不允许此操作")

# Parent–child linking (精准关联). One answer for every mismatch (name, ID number, phone or link code), so the
# endpoint cannot be used to learn which part of someone's record is right.
GUARDIAN_LINK_NOT_MATCHED = define(
    "GUARDIAN_LINK_NOT_MATCHED", 422,
    "未能核实您与该学生的监护关系：请核对学生姓名和身份证号，并使用在学校登记的手机号，或向学校申请关联码")
GUARDIAN_LINK_ATTEMPTS_EXCEEDED = define("GUARDIAN_LINK_ATTEMPTS_EXCEEDED", 429, "今日关联学生的尝试次数已用完，请明天再试")
GUARDIANS_FULL = define("GUARDIANS_FULL", 409, "该学生已关联两位家长；如需更换，请先由已关联的家长解除关联或联系学校")
