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
