"""Upload slots, confirmation and downloads of residents' documents. Every S3 call goes through ObjectStore.

A slot is a presigned POST policy (`wx.uploadFile` sends multipart/form-data; the policy fixes the key, the
Content-Type and a 1..limit byte range, valid 10 minutes) or, for H5, a presigned PUT (which signs neither type
nor size: confirmation checks both anyway). The record is written only after presigning succeeded.
Confirmation trusts nothing the client said: it stats the object, reads its first bytes and hashes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import structlog
import urllib3
from minio.error import MinioException

from core.clock import bson_time
from core.errors import AppError
from core.ids import new_id
from storage import errors as SE
from storage.document_checks import (
    HEIC,
    HEIC_REFUSED,
    LIMITS,
    NAMES,
    SNIFF_BYTES,
    Purpose,
    describe_limit,
    sniff,
)
from storage.documents import DocumentRepository, DocumentState, object_key
from storage.object_store import ObjectStore

log = structlog.get_logger(__name__)
SLOT_TTL = timedelta(minutes=10)
DOWNLOAD_TTL = timedelta(seconds=60)


@asynccontextmanager
async def s3_call() -> AsyncIterator[None]:
    """S3 unreachable or failing → 503 STORAGE_UNAVAILABLE (the caller has recorded nothing half-done)."""
    try:
        yield
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        log.warning("storage_unavailable", error=f"{type(exc).__name__}: {exc}"[:200])
        raise AppError(SE.STORAGE_UNAVAILABLE) from exc


@dataclass(frozen=True, slots=True)
class Slot:
    document: dict[str, Any]
    method: Literal["POST", "PUT"]  # POST: form fields then the file; PUT: the raw body
    url: str
    fields: dict[str, str]
    headers: dict[str, str]


class Documents:
    def __init__(self, repo: DocumentRepository, objects: ObjectStore, bucket: str) -> None:
        self.repo, self.objects, self.bucket = repo, objects, bucket

    async def create_slot(self, owner: str, purpose: Purpose, file_name: str, size: int, content_type: str,
                          via: str) -> Slot:
        limit = LIMITS[purpose]
        if content_type == HEIC:
            raise AppError(SE.DOCUMENT_TYPE_NOT_ALLOWED, HEIC_REFUSED)
        if content_type not in limit.types:
            raise AppError(SE.DOCUMENT_TYPE_NOT_ALLOWED, f"不支持该文件格式：{describe_limit(purpose)}")
        if not 0 < size <= limit.max_bytes:
            raise AppError(SE.DOCUMENT_TOO_LARGE, f"文件过大：{describe_limit(purpose)}")
        document_id = new_id()
        key = object_key(owner, document_id)
        method: Literal["POST", "PUT"] = "POST" if via == "post" else "PUT"
        async with s3_call():
            if method == "POST":
                form = await self.objects.presign_post(self.bucket, key, content_type=content_type,
                                                       max_size=limit.max_bytes, expires=SLOT_TTL)
                url, fields, headers = form.url, form.fields, {}
            else:
                url = await self.objects.presign_put(self.bucket, key, expires=SLOT_TTL)
                fields, headers = {}, {"Content-Type": content_type}
        now = bson_time()
        doc: dict[str, Any] = {
            "_id": document_id, "owner_person_id": owner, "purpose": purpose.value, "file_name": file_name,
            "declared_size": size, "content_type": content_type, "object_key": key,
            "state": DocumentState.PENDING.value, "sha256": None, "size": None, "detected_type": None,
            "reject_reason": None, "created_at": now, "upload_expires_at": now + SLOT_TTL, "confirmed_at": None,
        }
        await self.repo.insert(doc)
        log.info("document_slot", document_id=document_id, purpose=purpose.value, via=via, size=size)
        return Slot(document=doc, method=method, url=url, fields=fields, headers=headers)

    async def get(self, owner: str, document_id: str) -> dict[str, Any]:
        doc = await self.repo.get_owned(owner, document_id)
        if doc is None:
            raise AppError(SE.DOCUMENT_NOT_FOUND)
        return doc

    async def confirm(self, owner: str, document_id: str) -> dict[str, Any]:
        """Check the uploaded object; ready, or rejected (object deleted) with the reason. Idempotent."""
        doc = await self.get(owner, document_id)
        if doc["state"] == DocumentState.PENDING:
            doc = await self._check(doc)
        if doc["state"] == DocumentState.REJECTED:
            raise AppError(SE.DOCUMENT_REJECTED, doc["reject_reason"], extra={"document_id": doc["_id"]})
        return doc

    async def _check(self, doc: dict[str, Any]) -> dict[str, Any]:
        limit, key = LIMITS[Purpose(doc["purpose"])], doc["object_key"]
        async with s3_call():
            info = await self.objects.stat(self.bucket, key)
            if info is None:
                raise AppError(SE.DOCUMENT_NOT_UPLOADED)
            reason = None
            if not 0 < info.size <= limit.max_bytes:
                reason = f"文件大小不符合要求：{describe_limit(Purpose(doc['purpose']))}"
            else:
                detected = sniff(await self.objects.read_range(self.bucket, key, 0, SNIFF_BYTES))
                if detected == HEIC:
                    reason = HEIC_REFUSED
                elif detected != doc["content_type"]:
                    claimed = NAMES.get(doc["content_type"], doc["content_type"])
                    reason = f"文件内容与格式不符：不是{claimed}，请重新选择文件上传"
            if reason is not None:
                await self.objects.delete(self.bucket, key)
                changes: dict[str, Any] = {"state": DocumentState.REJECTED.value, "reject_reason": reason,
                                           "size": info.size}
            else:
                digest, size = await self.objects.sha256(self.bucket, key)
                changes = {"state": DocumentState.READY.value, "sha256": digest, "size": size,
                           "detected_type": detected}
        finished = await self.repo.finish(doc["_id"], changes)
        log.info("document_confirmed", document_id=doc["_id"], state=changes["state"])
        if finished is None:  # a concurrent confirmation finished it first: its answer stands
            return await self.get(doc["owner_person_id"], doc["_id"])
        return finished

    async def download_url(self, owner: str, document_id: str, *, expires: timedelta = DOWNLOAD_TTL) -> str:
        """A presigned GET of the owner's checked document, valid 60 seconds."""
        doc = await self.get(owner, document_id)
        if doc["state"] != DocumentState.READY:
            raise AppError(SE.DOCUMENT_NOT_READY)
        async with s3_call():
            return await self.objects.presign_get(self.bucket, doc["object_key"], expires=expires)
