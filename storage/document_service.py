"""Residents' documents: upload slots, confirmation, downloads and deletion by the owner, and the calls the case
workflow makes (attach, detach, staff downloads). Every S3 call goes through ObjectStore.

A slot is a presigned POST policy (`wx.uploadFile` sends multipart/form-data; the policy fixes the key, the
Content-Type and a 1..declared-size byte range, valid 10 minutes) or, for H5, a presigned PUT (which signs
neither type nor size: confirmation checks both anyway). The record is written only after the per-person
limits passed and presigning succeeded. Confirmation is storage/document_intake.py.

Residents reach only their own documents: anything else is 404 DOCUMENT_NOT_FOUND, the same answer as a
missing one (accounts/scopes.py). Staff reach a document only through a case it is attached to; the case
workflow checks that the staff member may see the case (`accounts.scopes.authorize`) before it calls
`staff_download_url`, which checks the attachment and records the access.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, Protocol

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from core.clock import bson_time
from core.errors import CONFLICT, AppError
from core.ids import new_id
from storage import errors as SE
from storage.access_log import DocumentAccessLogRepository
from storage.document_checks import (
    HEIC,
    HEIC_REFUSED,
    LIMITS,
    Purpose,
    describe_limit,
    describe_purposes,
)
from storage.document_intake import Intake
from storage.documents import VISIBLE, DocumentRepository, DocumentState, incoming_key, stored_key
from storage.object_store import ObjectStore
from storage.s3_guard import s3_call
from storage.slot_limits import SlotLimits

log = structlog.get_logger(__name__)
SLOT_TTL = timedelta(minutes=10)
DOWNLOAD_TTL = timedelta(seconds=60)


class StaffActor(Protocol):
    """Who downloads for a case: `accounts.scopes.Actor` fits (storage does not import the accounts package)."""

    @property
    def staff_id(self) -> str | None: ...

    @property
    def department_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Slot:
    document: dict[str, Any]
    method: Literal["POST", "PUT"]  # POST: form fields then the file; PUT: the raw body
    url: str
    fields: dict[str, str]
    headers: dict[str, str]


class Documents:
    def __init__(self, repo: DocumentRepository, objects: ObjectStore, bucket: str, *,
                 limits: SlotLimits | None = None) -> None:
        """`limits` None: no per-person quota or rate (maintenance tools and tests of other rules)."""
        self.repo, self.objects, self.bucket, self.limits = repo, objects, bucket, limits
        self.intake = Intake(objects, bucket)
        self.access_log = DocumentAccessLogRepository(repo.db)

    # -- the resident's own documents ---------------------------------------------------------------------
    async def create_slot(self, owner: str, purpose: Purpose, file_name: str, size: int, content_type: str,
                          via: str) -> Slot:
        limit = LIMITS[purpose]
        if content_type == HEIC:
            raise AppError(SE.DOCUMENT_TYPE_NOT_ALLOWED, HEIC_REFUSED)
        if content_type not in limit.types:
            raise AppError(SE.DOCUMENT_TYPE_NOT_ALLOWED, f"不支持该文件格式：{describe_limit(purpose)}")
        if not 0 < size <= limit.max_bytes:
            raise AppError(SE.DOCUMENT_TOO_LARGE, f"文件过大：{describe_limit(purpose)}")
        if self.limits is not None:
            await self.limits.admit(owner, size)
        document_id = new_id()
        upload_key = incoming_key(owner, document_id)
        method: Literal["POST", "PUT"] = "POST" if via == "post" else "PUT"
        async with s3_call():
            if method == "POST":
                form = await self.objects.presign_post(self.bucket, upload_key, content_type=content_type,
                                                       max_size=size, expires=SLOT_TTL)
                url, fields, headers = form.url, form.fields, {}
            else:
                url = await self.objects.presign_put(self.bucket, upload_key, expires=SLOT_TTL)
                fields, headers = {}, {"Content-Type": content_type}
        now = bson_time()
        doc: dict[str, Any] = {
            "_id": document_id, "owner_person_id": owner, "purpose": purpose.value, "file_name": file_name,
            "declared_size": size, "content_type": content_type, "upload_key": upload_key,
            "object_key": stored_key(owner, document_id), "state": DocumentState.PENDING.value, "sha256": None,
            "size": None, "stored_sha256": None, "stored_size": None, "detected_type": None, "privacy": None,
            "reject_reason": None, "created_at": now, "upload_expires_at": now + SLOT_TTL, "confirmed_at": None,
            "case_id": None, "material_code": None, "attached_at": None, "unattached_since": None,
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
        """Check the uploaded object; ready, or rejected (objects deleted) with the reason. Idempotent."""
        doc = await self.get(owner, document_id)
        if doc["state"] == DocumentState.PENDING:
            doc = await self._confirm(doc)
        if doc["state"] == DocumentState.REJECTED:
            raise AppError(SE.DOCUMENT_REJECTED, doc["reject_reason"], extra={"document_id": doc["_id"]})
        return doc

    async def _confirm(self, doc: dict[str, Any]) -> dict[str, Any]:
        try:
            async with s3_call():
                changes = await self.intake.check(doc)
        except AppError as exc:
            if exc.error is SE.DOCUMENT_NOT_UPLOADED:  # perhaps a concurrent confirmation moved it: its answer
                done = await self.get(doc["owner_person_id"], doc["_id"])
                if done["state"] != DocumentState.PENDING:
                    return done
            raise
        finished = await self.repo.finish(doc["_id"], changes)
        log.info("document_confirmed", document_id=doc["_id"], state=changes["state"],
                 removed=(changes.get("privacy") or {}).get("removed"))
        if finished is None:  # a concurrent confirmation finished it first (or the owner deleted it)
            return await self.get(doc["owner_person_id"], doc["_id"])
        if finished["state"] == DocumentState.READY:
            try:
                async with s3_call():
                    await self.objects.delete(self.bucket, doc["upload_key"])
            except AppError:  # the record is right; the clean-up job sweeps incoming/ anyway
                log.warning("incoming_not_removed", document_id=doc["_id"])
        return finished

    async def download_url(self, owner: str, document_id: str, *, expires: timedelta = DOWNLOAD_TTL) -> str:
        """A presigned GET of the owner's checked document (the stored copy), valid 60 seconds."""
        doc = await self.get(owner, document_id)
        if doc["state"] != DocumentState.READY:
            raise AppError(SE.DOCUMENT_NOT_READY)
        return await self._presign(doc, expires)

    async def delete(self, owner: str, document_id: str) -> None:
        """The owner removes a document not attached to a case: the record is marked first (it disappears from
        every view at once), then the objects go, then the record. If S3 fails half-way, the clean-up job
        finishes the deletion; the owner's answer does not depend on it."""
        doc = await self.get(owner, document_id)
        if doc.get("case_id") is not None:
            raise AppError(SE.DOCUMENT_ATTACHED, "文件已用于办件材料，不能删除；请先在草稿中移除")
        claimed = await self.repo.mark_deleting({"_id": document_id, "owner_person_id": owner, "case_id": None,
                                                 "state": {"$in": VISIBLE}}, limit=1, now=bson_time())
        if not claimed:  # attached or deleted meanwhile
            raise AppError(SE.DOCUMENT_NOT_FOUND)
        try:
            async with s3_call():
                await self.purge(claimed[0])
        except AppError:
            log.warning("document_delete_deferred", document_id=document_id)
        log.info("document_deleted", document_id=document_id, by="owner")

    async def purge(self, doc: dict[str, Any]) -> None:
        """Finish the deletion of a document already marked `deleting`: objects first, then the record."""
        await self.intake.discard(doc)
        await self.repo.remove(doc["_id"])

    # -- cases: called by the case workflow ---------------------------------------------------------------
    async def attach(self, owner_person_id: str, document_ids: Sequence[str], case_id: str, material_code: str,
                     *, allowed: Collection[Purpose] | None = None,
                     session: AsyncClientSession | None = None) -> list[dict[str, Any]]:
        """Attach the owner's checked documents to (case_id, material_code), all or none. Refused: a document
        that is missing or someone else's (404 DOCUMENT_NOT_FOUND, naming it in `document_id`), not checked yet
        (409 DOCUMENT_NOT_READY), on another case or material (409 DOCUMENT_ATTACHED), or of a kind the material
        does not take (422 DOCUMENT_TYPE_NOT_ALLOWED; `allowed` from `allowed_purposes(material)`, None = any).
        Attaching again to the same case and material changes nothing. Runs in `session` (the caller's
        transaction) when given, else in a transaction of its own."""
        ids = list(dict.fromkeys(document_ids))
        if not ids:
            return []

        async def work(txn: AsyncClientSession) -> list[dict[str, Any]]:
            found = {d["_id"]: d for d in await self.repo.owned_many(owner_person_id, ids, txn)}
            for document_id in ids:
                _check_attachable(found.get(document_id), document_id, case_id, material_code, allowed)
            if await self.repo.set_attachment(owner_person_id, ids, case_id, material_code, txn) != len(ids):
                raise AppError(CONFLICT)  # changed under us (deleted, attached elsewhere): nothing is kept
            return await self.repo.owned_many(owner_person_id, ids, txn)

        attached = await self._in_transaction(work, session)
        log.info("documents_attached", case_id=case_id, material_code=material_code, count=len(ids))
        return attached

    async def detach(self, owner_person_id: str, document_ids: Sequence[str], case_id: str, *,
                     session: AsyncClientSession | None = None) -> list[dict[str, Any]]:
        """Take the owner's documents off `case_id` (a draft being edited; the case workflow decides when that is
        allowed). Documents not on any case are left as they are; one on another case is 409
        DOCUMENT_ATTACHED; missing or someone else's 404. The 30-day clean-up clock restarts."""
        ids = list(dict.fromkeys(document_ids))

        async def work(txn: AsyncClientSession) -> list[dict[str, Any]]:
            found = {d["_id"]: d for d in await self.repo.owned_many(owner_person_id, ids, txn)}
            for document_id in ids:
                doc = found.get(document_id)
                if doc is None:
                    raise AppError(SE.DOCUMENT_NOT_FOUND, extra={"document_id": document_id})
                if doc.get("case_id") not in (None, case_id):
                    raise AppError(SE.DOCUMENT_ATTACHED, extra={"document_id": document_id})
            await self.repo.clear_attachment(owner_person_id, ids, case_id, txn)
            return await self.repo.owned_many(owner_person_id, ids, txn)

        return await self._in_transaction(work, session) if ids else []

    async def staff_download_url(self, document_id: str, case_id: str, staff_actor: StaffActor, *,
                                 request_id: str | None = None, expires: timedelta = DOWNLOAD_TTL) -> str:
        """A presigned GET (60 s) of the stored copy (metadata stripped for photos) of a document attached to
        `case_id`, for a staff member the caller has already found allowed to see that case. A document not
        attached to that case is 404 DOCUMENT_NOT_FOUND. The access is recorded in `document_access_log`
        before the link is made."""
        doc = await self.repo.attached_to(document_id, case_id)
        if doc is None or staff_actor.staff_id is None:
            log.warning("document_access_refused", staff_id=staff_actor.staff_id, document_id=document_id,
                        case_id=case_id)
            raise AppError(SE.DOCUMENT_NOT_FOUND)
        await self.access_log.append(staff_id=staff_actor.staff_id, department_id=staff_actor.department_id,
                                     document=doc, case_id=case_id, request_id=request_id)
        log.info("document_staff_download", staff_id=staff_actor.staff_id, document_id=document_id, case_id=case_id)
        return await self._presign(doc, expires)

    async def case_documents(self, case_id: str) -> list[dict[str, Any]]:
        """The checked documents attached to a case, by material then upload time (for the case's views)."""
        found = await self.repo.find_matching({"case_id": case_id, "state": DocumentState.READY.value}, limit=1000)
        return sorted(found, key=lambda d: (d.get("material_code") or "", d["created_at"], d["_id"]))

    # -- helpers ------------------------------------------------------------------------------------------
    async def _presign(self, doc: dict[str, Any], expires: timedelta) -> str:
        async with s3_call():
            return await self.objects.presign_get(self.bucket, doc["object_key"], expires=expires,
                                                  download_name=doc["file_name"],
                                                  content_type=doc.get("detected_type") or doc["content_type"])

    async def _in_transaction(self, work: Any, session: AsyncClientSession | None) -> Any:
        if session is not None:
            return await work(session)
        async with self.repo.db.client.start_session() as own:
            return await own.with_transaction(work)

    def close(self) -> None:
        self.intake.close()


def _check_attachable(doc: dict[str, Any] | None, document_id: str, case_id: str, material_code: str,
                      allowed: Collection[Purpose] | None) -> None:
    named = {"document_id": document_id}
    if doc is None:
        raise AppError(SE.DOCUMENT_NOT_FOUND, extra=named)
    if doc["state"] != DocumentState.READY:
        raise AppError(SE.DOCUMENT_NOT_READY, "文件尚未通过检查，不能用作申请材料", extra=named)
    if doc.get("case_id") is not None and (doc["case_id"], doc.get("material_code")) != (case_id, material_code):
        raise AppError(SE.DOCUMENT_ATTACHED, extra=named)
    if allowed is not None and Purpose(doc["purpose"]) not in allowed:
        raise AppError(SE.DOCUMENT_TYPE_NOT_ALLOWED, f"该材料仅接受{describe_purposes(allowed)}", extra=named)
