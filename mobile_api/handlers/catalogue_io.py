"""Staff endpoints for moving the catalogue in and out of Excel: the blank template, xlsx import jobs and the
export of the published catalogue.

An import is a raw xlsx body (up to 5 MB, answered 413 from Content-Length before the body is read). The
handler only stores it and creates a job (202); the Celery worker checks and imports it, and the job's URL
shows the progress and the report. Workbooks are built in a worker thread (`affairs.catalogue_export`).
"""

from __future__ import annotations

from urllib.parse import quote

from accounts import errors as AE
from affairs import errors as AF
from affairs.imports import MAX_IMPORT_BYTES
from affairs.matter_sheet_write import XLSX_MEDIA_TYPE
from core import errors as E
from core.errors import AppError, FieldError
from mobile_api.base import BaseHandler
from mobile_api.handlers.catalogue_io_models import ImportJobOut
from mobile_api.openapi import operation

TAGS = ["事项管理"]
ACCESS_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN)
LAYOUT = ("工作簿有「事项」「申请材料」「办理流程」「办理地点」四张表（另有「填写说明」），列名为中文，"
          "布局见导入模板和 docs/catalogue.md。")


def _send_xlsx(handler: BaseHandler, data: bytes, filename: str) -> None:
    handler.set_header("Content-Type", XLSX_MEDIA_TYPE)
    handler.set_header("Content-Disposition", f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}")
    handler.finish(data)


class ImportTemplateHandler(BaseHandler):
    @operation(summary="下载事项导入模板（xlsx）", tags=TAGS, auth=True, raw_response=XLSX_MEDIA_TYPE,
               errors=(AE.STAFF_ONLY, AE.ACCOUNT_DISABLED),
               description=LAYOUT + "模板与导入解析、导出使用同一份列定义；表头批注和「填写说明」表说明每列怎么填。")
    async def get(self) -> None:
        await self.staff_account()
        _send_xlsx(self, await self.deps.catalogue.export.template(), "matter-import-template.xlsx")


class MatterImportsHandler(BaseHandler):
    max_body_bytes = MAX_IMPORT_BYTES

    @operation(
        summary="上传 xlsx 批量导入事项（异步任务）", tags=TAGS, auth=True, response=ImportJobOut, status=202,
        raw_request=XLSX_MEDIA_TYPE,
        query=(("department", "导入到的部门编码，默认为本人所在部门；只能是本部门"),),
        headers=(("Idempotency-Key", "可选：同一键重复提交返回第一次的任务，不同文件用同一键返回 422"),),
        errors=(*ACCESS_ERRORS, AF.IMPORT_FILE_INVALID, E.VALIDATION_FAILED, E.IDEMPOTENCY_KEY_REUSED,
                E.IDEMPOTENCY_IN_PROGRESS, E.SERVICE_UNAVAILABLE),
        description="只有该部门的部门管理员可以导入。请求体为 xlsx 文件本身（Content-Type: "
        f"{XLSX_MEDIA_TYPE}），不超过 5 MB。" + LAYOUT + "返回 202 和任务；在任务地址查看进度和报告。"
        "全部或全不：任一单元格有误则不导入任何事项，报告逐一列出工作表、行号、列名和原因；全部正确时所有事项"
        "在一个事务中导入为草稿（不发布）。已存在的本部门事项成为新的草稿版本，内容未变的不作改动。"
        "同一部门再次上传相同文件（SHA-256 相同）返回原任务（200）。",
    )
    async def post(self) -> None:
        account = await self.staff_account()
        data = self.raw_body(XLSX_MEDIA_TYPE, "xlsx 工作簿")
        key = self.request.headers.get("Idempotency-Key") or None
        if key is not None and not 1 <= len(key) <= 128:
            raise AppError(E.VALIDATION_FAILED, errors=[FieldError("Idempotency-Key", "TOO_LONG", "幂等键最长 128 个字符")])
        department = self.get_query_argument("department", None) or None
        job, created = await self.deps.matter_imports.submit(account.actor(), department, data,
                                                             idempotency_key=key)
        self.set_header("Location", f"/api/v1/admin/matters/imports/{job['_id']}")
        self.send(ImportJobOut.of(job), status=202 if created else 200)


class MatterImportHandler(BaseHandler):
    @operation(summary="查看导入任务：状态、进度和报告", tags=TAGS, auth=True, response=ImportJobOut,
               errors=(*ACCESS_ERRORS, AF.IMPORT_JOB_NOT_FOUND),
               description="只有导入部门的部门管理员可以查看。state 为 failed 时 issues 逐一列出有误的单元格。")
    async def get(self, job_id: str) -> None:
        account = await self.staff_account()
        self.send(ImportJobOut.of(await self.deps.matter_imports.get(account.actor(), job_id)))


class MatterExportHandler(BaseHandler):
    @operation(
        summary="导出已发布的事项目录（xlsx，与导入格式相同）", tags=TAGS, auth=True, raw_response=XLSX_MEDIA_TYPE,
        query=(("department", "部门编码；部门管理员默认且只能为本部门，电子监察可选本辖区内的部门，不填导出整个辖区"),),
        errors=ACCESS_ERRORS,
        description="导出每个已发布事项的当前版本。" + LAYOUT + "导出的文件原样重新导入时校验通过且不作任何改动，"
        "修改后导入即成为新的草稿版本。",
    )
    async def get(self) -> None:
        account = await self.staff_account()
        department = self.get_query_argument("department", None) or None
        data, filename = await self.deps.catalogue.export.export(account.actor(), department)
        _send_xlsx(self, data, filename)
