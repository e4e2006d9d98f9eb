"""Request and response models of the blank-form (样表) endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mobile_api.handlers.documents_models import UploadOut
from storage.document_service import Slot


class FormSlotIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    file_name: str = Field(min_length=1, max_length=200, examples=["转学申请表.pdf"])
    size: int = Field(gt=0, description="文件字节数（不超过 20 MB）", examples=[102400])
    content_type: str = Field(max_length=100, description="PDF、Word（doc/docx）、Excel（xls/xlsx）、JPG、PNG 的 MIME 类型",
                              examples=["application/pdf"])
    via: Literal["post", "put"] = Field("put", description="put：浏览器直传（默认）；post：表单上传")


class FormFileOut(BaseModel):
    id: str
    key: str = Field(description="确认通过后，把它填入办事指南材料的 form_file_key")
    file_name: str
    content_type: str
    state: Literal["pending", "ready", "rejected"]
    size: int | None
    sha256: str | None
    reject_reason: str | None
    created_at: datetime
    confirmed_at: datetime | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> FormFileOut:
        own = {k: doc.get(k) for k in cls.model_fields if k not in ("id", "key")}
        return cls(id=doc["_id"], key=doc["object_key"], **own)


class FormSlotOut(BaseModel):
    form: FormFileOut
    upload: UploadOut

    @classmethod
    def of(cls, slot: Slot) -> FormSlotOut:
        return cls(form=FormFileOut.of(slot.document),
                   upload=UploadOut(method=slot.method, url=slot.url, fields=slot.fields, headers=slot.headers,
                                    expires_at=slot.document["upload_expires_at"]))


class FormDownloadOut(BaseModel):
    url: str = Field(description="下载地址，60 秒内有效")
    expires_in: int = 60
    file_name: str = Field(description="下载后的文件名（材料名称加扩展名）")
