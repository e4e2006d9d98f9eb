"""A resident's documents: ask for an upload slot, upload straight to object storage, confirm, download."""

from __future__ import annotations

from accounts import errors as AE
from mobile_api.base import BaseHandler
from mobile_api.handlers.documents_models import DocumentOut, DownloadOut, SlotIn, SlotOut
from mobile_api.openapi import operation
from storage import errors as SE

TAGS = ["文件"]


class SlotsHandler(BaseHandler):
    @operation(
        summary="申请上传：登记文件并取得直传对象存储的签名", tags=TAGS, request=SlotIn, response=SlotOut, status=201,
        auth=True, errors=(AE.RESIDENT_ONLY, SE.DOCUMENT_TYPE_NOT_ALLOWED, SE.DOCUMENT_TOO_LARGE,
                           SE.DOCUMENT_QUOTA_EXCEEDED, SE.DOCUMENT_SLOTS_RATE_LIMITED, SE.STORAGE_UNAVAILABLE),
        description="文件由手机直接上传到对象存储，10 分钟内有效，大小不能超过声明的 size；上传后调用确认接口。"
        "HEIC 照片不支持，请转为 JPG。每人未提交的文件有数量和容量上限（409 DOCUMENT_QUOTA_EXCEEDED），"
        "每小时申请上传的次数有上限（429，`Retry-After` 为需等待的秒数）。",
    )
    async def post(self) -> None:
        principal = await self.resident()
        body = self.parse(SlotIn)
        slot = await self.deps.documents.create_slot(principal.person_id, body.purpose, body.file_name, body.size,
                                                     body.content_type, body.via)
        self.send(SlotOut.of(slot), status=201)


class DocumentConfirmHandler(BaseHandler):
    @operation(
        summary="确认上传：检查文件大小、格式并计算 SHA-256", tags=TAGS, response=DocumentOut, auth=True,
        errors=(AE.RESIDENT_ONLY, SE.DOCUMENT_NOT_FOUND, SE.DOCUMENT_NOT_UPLOADED, SE.DOCUMENT_REJECTED,
                SE.STORAGE_UNAVAILABLE),
        description="可重复调用，结果不变。内容与声明格式不符的文件会被删除，errmsg 说明原因。照片另存为去除位置、"
        "设备序列号等信息并按拍摄方向摆正的副本，原文件不保留（只记录其 SHA-256）。",
    )
    async def post(self, document_id: str) -> None:
        principal = await self.resident()
        self.send(DocumentOut.of(await self.deps.documents.confirm(principal.person_id, document_id)))


class DocumentHandler(BaseHandler):
    @operation(summary="文件信息", tags=TAGS, response=DocumentOut, auth=True,
               errors=(AE.RESIDENT_ONLY, SE.DOCUMENT_NOT_FOUND))
    async def get(self, document_id: str) -> None:
        principal = await self.resident()
        self.send(DocumentOut.of(await self.deps.documents.get(principal.person_id, document_id)))

    @operation(summary="删除未使用的文件", tags=TAGS, status=204, auth=True,
               errors=(AE.RESIDENT_ONLY, SE.DOCUMENT_NOT_FOUND, SE.DOCUMENT_ATTACHED),
               description="已用于办件材料的文件不能删除（须先在草稿中移除）。删除后不再计入个人的文件数量和容量限额。")
    async def delete(self, document_id: str) -> None:
        principal = await self.resident()
        await self.deps.documents.delete(principal.person_id, document_id)
        self.set_status(204)
        self.finish()


class DocumentDownloadHandler(BaseHandler):
    @operation(summary="下载地址（60 秒内有效）", tags=TAGS, response=DownloadOut, auth=True,
               errors=(AE.RESIDENT_ONLY, SE.DOCUMENT_NOT_FOUND, SE.DOCUMENT_NOT_READY, SE.STORAGE_UNAVAILABLE))
    async def get(self, document_id: str) -> None:
        principal = await self.resident()
        self.send(DownloadOut(url=await self.deps.documents.download_url(principal.person_id, document_id)))
