"""Confirmation of an upload: what is checked, in which order, and what is kept.

The phone wrote `incoming/…` through a presigned URL that stays valid for minutes, so it could still replace
the object while we check it. We therefore first copy it server-side to `documents/…` (no presigned upload URL
reaches that prefix) and check and keep only that copy: size (within the declared size and the purpose's
limit), first bytes (the claimed type, never HEIC), then either the SHA-256 streamed in the S3 thread pool
(PDF, OFD) or, for photos, the clean copy without metadata (storage/image_privacy.py) that replaces it. The
result is a set of changes for the record; the caller stores them once, then removes `incoming/…`.

Photos are decoded in a pool of IMAGE_WORKERS threads behind a semaphore of the same size, so however many
confirmations arrive at once, at most that many images (≤ 10 MB each, ≤ MAX_PIXELS decoded) are in memory.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.errors import AppError
from storage import errors as SE
from storage.document_checks import (
    HEIC,
    HEIC_REFUSED,
    JPEG,
    LIMITS,
    NAMES,
    PNG,
    SNIFF_BYTES,
    Purpose,
    describe_limit,
    sniff,
)
from storage.documents import DocumentState
from storage.image_privacy import ImageRefused, clean_copy
from storage.object_store import ObjectStore

IMAGE_WORKERS = 2
IMAGES = (JPEG, PNG)


class Rejected(Exception):
    """The upload is not acceptable; `reason` is shown to the resident, the objects are already deleted."""

    def __init__(self, reason: str, size: int | None) -> None:
        super().__init__(reason)
        self.reason, self.size = reason, size


class Intake:
    def __init__(self, objects: ObjectStore, bucket: str) -> None:
        self.objects, self.bucket = objects, bucket
        self._images = ThreadPoolExecutor(max_workers=IMAGE_WORKERS, thread_name_prefix="image")
        self._gate = asyncio.Semaphore(IMAGE_WORKERS)

    async def check(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The record's changes for a ready or rejected document. AppError DOCUMENT_NOT_UPLOADED when there is
        nothing to check yet; S3 errors propagate (the caller turns them into 503, the record stays pending)."""
        try:
            return await self._accept(doc)
        except Rejected as rejected:
            await self.discard(doc)
            return {"state": DocumentState.REJECTED.value, "reject_reason": rejected.reason, "size": rejected.size,
                    "stored_size": 0}  # nothing is kept

    async def discard(self, doc: dict[str, Any]) -> None:
        """Delete both objects of a document (deleting a missing object is not an error)."""
        await self.objects.delete(self.bucket, doc["upload_key"])
        await self.objects.delete(self.bucket, doc["object_key"])

    async def _accept(self, doc: dict[str, Any]) -> dict[str, Any]:
        purpose, claimed = Purpose(doc["purpose"]), doc["content_type"]
        max_size = min(doc["declared_size"], LIMITS[purpose].max_bytes)
        upload = await self.objects.stat(self.bucket, doc["upload_key"])
        if upload is None:
            raise AppError(SE.DOCUMENT_NOT_UPLOADED)
        _check_size(upload.size, max_size, purpose)
        if not await self.objects.copy(self.bucket, doc["upload_key"], doc["object_key"]):
            raise AppError(SE.DOCUMENT_NOT_UPLOADED)  # removed since the stat: a concurrent confirmation won
        key = doc["object_key"]
        stored = await self.objects.stat(self.bucket, key)
        size = stored.size if stored else 0
        _check_size(size, max_size, purpose)
        detected = sniff(await self.objects.read_range(self.bucket, key, 0, SNIFF_BYTES))
        if detected == HEIC:
            raise Rejected(HEIC_REFUSED, size)
        if detected != claimed:
            raise Rejected(f"文件内容与格式不符：不是{NAMES.get(claimed, claimed)}，请重新选择文件上传", size)
        if detected in IMAGES:
            return await self._clean_image(key, detected)
        digest, hashed = await self.objects.sha256(self.bucket, key)
        return {"state": DocumentState.READY.value, "sha256": digest, "size": hashed, "detected_type": detected,
                "stored_sha256": digest, "stored_size": hashed, "privacy": None}

    async def _clean_image(self, key: str, media_type: str) -> dict[str, Any]:
        async with self._gate:
            data = await self.objects.get_bytes(self.bucket, key)
            try:
                clean = await asyncio.get_running_loop().run_in_executor(self._images, clean_copy, data, media_type)
            except ImageRefused as refused:
                raise Rejected(str(refused), len(data)) from None
            del data
            await self.objects.put_bytes(self.bucket, key, clean.data, media_type)
        privacy = {"removed": list(clean.removed), "orientation_applied": clean.orientation_applied,
                   "width": clean.width, "height": clean.height}
        return {"state": DocumentState.READY.value, "sha256": clean.original_sha256, "size": clean.original_size,
                "detected_type": media_type, "stored_sha256": clean.sha256, "stored_size": len(clean.data),
                "privacy": privacy}

    def close(self) -> None:
        self._images.shutdown(wait=False, cancel_futures=True)


def _check_size(size: int, max_size: int, purpose: Purpose) -> None:
    if not 0 < size <= max_size:
        raise Rejected(f"文件大小不符合要求：不能超过申请上传时声明的大小，且{describe_limit(purpose)}", size)
