"""Error codes of the affairs package (regions, departments, the matter catalogue), declared once via `define()`.

Bad input in a guide is not listed here: every bad field of a matter is a 422 `VALIDATION_FAILED` whose `errors`
name the field (`materials.0.ecert_type`, `fee.amount_fen`, …), so an editor sees all problems at once.
"""

from __future__ import annotations

from core.errors import define

REGION_NOT_FOUND = define("REGION_NOT_FOUND", 404, "行政区划不存在")
MATTER_NOT_FOUND = define("MATTER_NOT_FOUND", 404, "事项不存在")
MATTER_VERSION_NOT_FOUND = define("MATTER_VERSION_NOT_FOUND", 404, "该事项没有这个版本")
MATTER_CODE_TAKEN = define("MATTER_CODE_TAKEN", 409, "事项编码已被使用，请换一个")
# A transition that the matter's current state does not allow (publish a draft not yet submitted, withdraw a
# matter that is not published, …); errmsg says which state it is in.
MATTER_STATE_CONFLICT = define("MATTER_STATE_CONFLICT", 409, "事项当前状态不允许此操作，请刷新后重试")
# xlsx import and export of the catalogue (affairs/imports.py). Bad cells are not errcodes of the request: they
# are listed in the import job's report (sheet, row, column, reason), because the file is checked after upload.
IMPORT_JOB_NOT_FOUND = define("IMPORT_JOB_NOT_FOUND", 404, "导入任务不存在")
IMPORT_FILE_INVALID = define("IMPORT_FILE_INVALID", 422, "上传的文件不是 xlsx 工作簿，请使用导入模板填写后上传")
# Cases (办件). A step the case's state does not allow answers 409 with `state` (and `state_label`) in the body;
# a write based on an old read of the case answers 409 CASE_VERSION_CONFLICT: reload and try again.
CASE_NOT_FOUND = define("CASE_NOT_FOUND", 404, "办件不存在")
CASE_STATE_CONFLICT = define("CASE_STATE_CONFLICT", 409, "办件当前状态不允许此操作")
CASE_VERSION_CONFLICT = define("CASE_VERSION_CONFLICT", 409, "办件已被他人更新，请刷新后重试")
CITIZEN_ID_REQUIRED = define("CITIZEN_ID_REQUIRED", 403, "请先完成实名认证（绑定身份证号）再申请")
MATTER_NOT_ONLINE = define("MATTER_NOT_ONLINE", 409, "该事项不支持网上申请，请到窗口办理")
SUPPLEMENT_ALREADY_NOTIFIED = define(
    "SUPPLEMENT_ALREADY_NOTIFIED", 409, "已一次性告知过补正内容；再次告知只能针对补正时新改动的内容")
TASK_NOT_FOUND = define("TASK_NOT_FOUND", 404, "任务不存在")
TASK_CLAIMED_BY_OTHER = define("TASK_CLAIMED_BY_OTHER", 409, "该任务已被其他工作人员认领")
TASK_NOT_CLAIMED = define("TASK_NOT_CLAIMED", 409, "请先认领该任务")
TASK_CLOSED = define("TASK_CLOSED", 409, "该任务已办结")
ECERT_NOT_FOUND = define("ECERT_NOT_FOUND", 404, "电子证照不存在或不属于申请人")
