"""Blank forms and samples (样表) of the catalogue: department admins upload them straight to object storage
like residents' documents; anyone reading a guide downloads a material's form through a 60-second link."""

from __future__ import annotations

import json

from accounts import errors as AE
from affairs import errors as AF
from core import errors as E
from mobile_api.base import BaseHandler
from mobile_api.handlers.forms_models import FormDownloadOut, FormFileOut, FormSlotIn, FormSlotOut
from mobile_api.openapi import operation
from storage import errors as SE

ADMIN_ERRORS = (AE.STAFF_ONLY, AE.ACCOUNT_DISABLED, E.FORBIDDEN)


class FormSlotsHandler(BaseHandler):
    @operation(
        summary="上传空白表格或样表：登记并取得直传对象存储的签名", tags=["事项管理"], request=FormSlotIn,
        response=FormSlotOut, status=201, auth=True,
        errors=(*ADMIN_ERRORS, SE.DOCUMENT_TYPE_NOT_ALLOWED, SE.DOCUMENT_TOO_LARGE, SE.STORAGE_UNAVAILABLE),
        description="部门管理员为本部门事项上传。文件直接上传到对象存储（10 分钟内有效），再调用确认接口；"
        "确认通过后把返回的 key 填入办事指南材料的 form_file_key。",
    )
    async def post(self) -> None:
        account = await self.staff_account()
        body = self.parse(FormSlotIn)
        slot = await self.deps.forms.create_slot(account.actor(), body.file_name, body.size, body.content_type,
                                                 body.via)
        self.send(FormSlotOut.of(slot), status=201)


class FormConfirmHandler(BaseHandler):
    @operation(
        summary="确认空白表格或样表：检查大小和格式", tags=["事项管理"], response=FormFileOut, auth=True,
        errors=(*ADMIN_ERRORS, SE.FORM_NOT_FOUND, SE.DOCUMENT_NOT_UPLOADED, SE.DOCUMENT_REJECTED,
                SE.STORAGE_UNAVAILABLE),
        description="可重复调用，结果不变。内容与声明格式不符的文件会被删除，errmsg 说明原因。",
    )
    async def post(self, form_id: str) -> None:
        account = await self.staff_account()
        self.send(FormFileOut.of(await self.deps.forms.confirm(account.actor(), form_id)))


class MaterialFormHandler(BaseHandler):
    @operation(
        summary="下载材料的空白表格或样表（60 秒内有效的地址）", tags=["办事指南"], response=FormDownloadOut,
        errors=(AF.MATTER_NOT_FOUND, SE.FORM_NOT_FOUND, SE.STORAGE_UNAVAILABLE),
        description="index 为材料在办事指南 materials 中的序号（从 0 开始）。无需登录。",
    )
    async def get(self, code: str, index: str) -> None:
        guide = json.loads((await self.deps.catalogue.reader.guide(code)).body)
        url, name = await self.deps.forms.download_url(guide, int(index) if index.isdigit() and len(index) < 4 else -1)
        self.send(FormDownloadOut(url=url, file_name=name))
