"""Request and response models of the document endpoints (upload slots, confirmation, downloads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from storage.document_checks import Purpose
from storage.document_service import Slot


class SlotIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    purpose: Purpose = Field(description="photo：照片（JPG/PNG，≤10 MB）；pdf：PDF（≤20 MB）；ofd：OFD（≤20 MB）")
    file_name: str = Field(min_length=1, max_length=200, examples=["身份证正面.jpg"])
    size: int = Field(gt=0, description="文件字节数", examples=[245760])
    content_type: str = Field(max_length=100, examples=["image/jpeg"])
    via: Literal["post", "put"] = Field("post", description="post：小程序 `wx.uploadFile`（表单上传）；put：H5 直传")


class DocumentOut(BaseModel):
    id: str
    purpose: str
    file_name: str
    declared_size: int
    content_type: str
    state: Literal["pending", "ready", "rejected"] = Field(description="pending 待上传/确认；ready 已通过检查；rejected 未通过")
    size: int | None = Field(description="实际字节数（确认后）")
    sha256: str | None = Field(description="文件 SHA-256（确认后）")
    reject_reason: str | None
    metadata_removed: list[str] | None = Field(
        description="照片确认后另存为不含位置等信息的副本（工作人员看到的即此副本）：原文件带有、已去除的信息，"
        "如 gps、exif、xmp；非照片为 null")
    case_id: str | None = Field(description="已用于的办件（未使用为 null）")
    material_code: str | None = Field(description="已用于的办件材料")
    created_at: datetime
    confirmed_at: datetime | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> DocumentOut:
        privacy = doc.get("privacy") or None
        own = {k: doc.get(k) for k in cls.model_fields if k not in ("id", "metadata_removed")}
        return cls(id=doc["_id"], metadata_removed=privacy["removed"] if privacy else None, **own)


class UploadOut(BaseModel):
    method: Literal["POST", "PUT"]
    url: str = Field(description="直接上传到对象存储的地址，文件不经过本接口")
    fields: dict[str, str] = Field(description="POST 时原样作为表单字段（`wx.uploadFile` 的 formData），文件字段名 `file`")
    headers: dict[str, str] = Field(description="PUT 时须带的请求头")
    expires_at: datetime


class SlotOut(BaseModel):
    document: DocumentOut
    upload: UploadOut

    @classmethod
    def of(cls, slot: Slot) -> SlotOut:
        return cls(document=DocumentOut.of(slot.document),
                   upload=UploadOut(method=slot.method, url=slot.url, fields=slot.fields, headers=slot.headers,
                                    expires_at=slot.document["upload_expires_at"]))


class DownloadOut(BaseModel):
    url: str = Field(description="下载地址，60 秒内有效")
    expires_in: int = 60
