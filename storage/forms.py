"""Blank forms and samples of the catalogue (空白表格、示例样表), served the way residents' documents are.

A department admin asks for a slot, uploads the file straight to S3 (`incoming/forms/<id>`), and confirms: the
file is copied server-side to `forms/<department>/<id>.<ext>`, checked (size, first bytes of the claimed type:
PDF, Word, Excel, JPG, PNG) and hashed. The confirmed key is what the guide's material names in
`form_file_key`; residents then get a presigned GET of it, valid 60 seconds, through the published guide (only
a key a confirmed upload produced is ever signed, so a guide cannot point residents at other objects).
Who may upload is the catalogue's rule (`affairs.matter_access.authorize_matter_change`), injected by the
wiring: storage does not import the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal

import structlog
from pymongo import ASCENDING, IndexModel, ReturnDocument

from core.clock import bson_time
from core.errors import AppError
from core.ids import new_id
from core.mongo import Repository
from storage import errors as SE
from storage.document_checks import FORM_MAX_BYTES, FORM_TYPES, SNIFF_BYTES, sniff_form
from storage.document_service import DOWNLOAD_TTL, SLOT_TTL, Slot
from storage.documents import INCOMING_PREFIX, DocumentState
from storage.object_store import ObjectStore
from storage.s3_guard import s3_call

log = structlog.get_logger(__name__)
KINDS = "PDF、Word（doc/docx）、Excel（xls/xlsx）、JPG 或 PNG"


class FormFileRepository(Repository):
    collection_name = "form_files"
    indexes = (
        IndexModel([("object_key", ASCENDING)], name="object_key", unique=True),
        IndexModel([("department_code", ASCENDING), ("created_at", ASCENDING)], name="department_recent"),
    )

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.collection.insert_one(doc)

    async def get(self, department_code: str, form_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": form_id, "department_code": department_code})

    async def ready_by_key(self, key: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"object_key": key, "state": DocumentState.READY.value})

    async def finish(self, form_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        return await self.collection.find_one_and_update(
            {"_id": form_id, "state": DocumentState.PENDING.value},
            {"$set": {**changes, "confirmed_at": bson_time()}}, return_document=ReturnDocument.AFTER)


class Forms:
    def __init__(self, repo: FormFileRepository, objects: ObjectStore, bucket: str,
                 authorize: Callable[[Any, str], None]) -> None:
        self.repo, self.objects, self.bucket, self._authorize = repo, objects, bucket, authorize

    async def create_slot(self, actor: Any, file_name: str, size: int, content_type: str,
                          via: Literal["post", "put"]) -> Slot:
        department = self._department_of(actor)
        if content_type not in FORM_TYPES:
            raise AppError(SE.DOCUMENT_TYPE_NOT_ALLOWED, f"空白表格或样表仅支持 {KINDS}")
        if not 0 < size <= FORM_MAX_BYTES:
            raise AppError(SE.DOCUMENT_TOO_LARGE, f"空白表格或样表不能超过 {FORM_MAX_BYTES >> 20} MB")
        form_id = new_id()
        upload_key = f"{INCOMING_PREFIX}forms/{form_id}"
        async with s3_call():
            if via == "post":
                form = await self.objects.presign_post(self.bucket, upload_key, content_type=content_type,
                                                       max_size=size, expires=SLOT_TTL)
                slot_url, fields, headers = form.url, form.fields, {}
            else:
                slot_url = await self.objects.presign_put(self.bucket, upload_key, expires=SLOT_TTL)
                fields, headers = {}, {"Content-Type": content_type}
        now = bson_time()
        doc = {"_id": form_id, "department_code": department, "uploaded_by": actor.staff_id,
               "file_name": file_name, "content_type": content_type, "declared_size": size,
               "upload_key": upload_key, "object_key": f"forms/{department}/{form_id}.{FORM_TYPES[content_type]}",
               "state": DocumentState.PENDING.value, "sha256": None, "size": None, "reject_reason": None,
               "created_at": now, "upload_expires_at": now + SLOT_TTL, "confirmed_at": None}
        await self.repo.insert(doc)
        return Slot(document=doc, method="POST" if via == "post" else "PUT", url=slot_url, fields=fields,
                    headers=headers)

    async def confirm(self, actor: Any, form_id: str) -> dict[str, Any]:
        """Check the upload; its `object_key` is then what a guide's `form_file_key` names. Idempotent."""
        doc = await self.repo.get(self._department_of(actor), form_id)
        if doc is None:
            raise AppError(SE.FORM_NOT_FOUND, "文件不存在")
        if doc["state"] == DocumentState.PENDING:
            async with s3_call():
                changes = await self._check(doc)
            doc = await self.repo.finish(form_id, changes) or await self.repo.get(doc["department_code"], form_id)
            async with s3_call():
                await self.objects.delete(self.bucket, doc["upload_key"])
            log.info("form_file_confirmed", form_id=form_id, state=doc["state"])
        if doc["state"] == DocumentState.REJECTED:
            raise AppError(SE.DOCUMENT_REJECTED, doc["reject_reason"], extra={"document_id": form_id})
        return doc

    async def _check(self, doc: dict[str, Any]) -> dict[str, Any]:
        key = doc["object_key"]
        if not await self.objects.copy(self.bucket, doc["upload_key"], key):
            raise AppError(SE.DOCUMENT_NOT_UPLOADED)
        info = await self.objects.stat(self.bucket, key)
        size = info.size if info else 0
        reason = None
        if not 0 < size <= doc["declared_size"]:
            reason = "文件大小与申请上传时声明的不符"
        elif not sniff_form(await self.objects.read_range(self.bucket, key, 0, SNIFF_BYTES), doc["content_type"]):
            reason = f"文件内容与格式不符，仅支持 {KINDS}"
        if reason is not None:
            await self.objects.delete(self.bucket, key)
            return {"state": DocumentState.REJECTED.value, "reject_reason": reason, "size": size}
        digest, size = await self.objects.sha256(self.bucket, key)
        return {"state": DocumentState.READY.value, "sha256": digest, "size": size}

    async def download_url(self, guide: Mapping[str, Any], material_index: int,
                           *, expires: timedelta = DOWNLOAD_TTL) -> tuple[str, str]:
        """A presigned GET of the blank form of a published guide's material (the guide as rendered for
        residents) and the file's name (the material's); FORM_NOT_FOUND when it has none."""
        materials = guide.get("materials") or []
        if not 0 <= material_index < len(materials) or not materials[material_index].get("form_file_key"):
            raise AppError(SE.FORM_NOT_FOUND)
        material = materials[material_index]
        form = await self.repo.ready_by_key(material["form_file_key"])
        if form is None:
            raise AppError(SE.FORM_NOT_FOUND)
        name = f"{material['name']}.{FORM_TYPES[form['content_type']]}"
        async with s3_call():
            url = await self.objects.presign_get(self.bucket, form["object_key"], expires=expires,
                                                 download_name=name, content_type=form["content_type"])
        return url, name

    def _department_of(self, actor: Any) -> str:
        """The admin's own department, after the catalogue's rule said they may change its matters."""
        department = actor.department_id
        if not department:
            self._authorize(actor, "")  # refuses (403) and logs
        self._authorize(actor, department)
        return str(department)
