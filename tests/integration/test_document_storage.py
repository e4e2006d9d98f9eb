"""The document adapter and service against SeaweedFS with signatures enforced: presigned links expire, a dead S3
is a clean 503 that leaves the record as it was."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from datetime import timedelta

import httpx
import pytest

from config.settings import Settings
from config.wiring import Dependencies
from core.errors import AppError
from core.ids import new_id
from storage import errors as SE
from storage.document_checks import Purpose
from storage.document_service import Documents
from storage.documents import DocumentRepository
from storage.object_store import ObjectStore

JPEG = b"\xff\xd8\xff\xe0" + bytes(100)


async def test_presigned_get_expires(deps: Dependencies, settings: Settings) -> None:
    bucket, key = settings.s3_bucket_documents, f"uploads/test/{new_id()}"
    await deps.objects.put_bytes(bucket, key, JPEG, "image/jpeg")
    url = await deps.objects.presign_get(bucket, key, expires=timedelta(seconds=1))
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(url)).content == JPEG
        await asyncio.sleep(2)
        expired = await browser.get(url)
    assert expired.status_code == 403
    await deps.objects.delete(bucket, key)


async def test_stat_read_range_and_hash(deps: Dependencies, settings: Settings) -> None:
    bucket, key = settings.s3_bucket_documents, f"uploads/test/{new_id()}"
    assert await deps.objects.stat(bucket, key) is None
    await deps.objects.put_bytes(bucket, key, JPEG, "image/jpeg")
    info = await deps.objects.stat(bucket, key)
    assert info is not None and (info.size, info.content_type) == (len(JPEG), "image/jpeg")
    assert await deps.objects.read_range(bucket, key, 0, 4) == JPEG[:4]
    assert await deps.objects.sha256(bucket, key) == (hashlib.sha256(JPEG).hexdigest(), len(JPEG))
    await deps.objects.delete(bucket, key)
    assert await deps.objects.stat(bucket, key) is None


async def test_s3_down_is_503_and_leaves_the_record_pending(deps: Dependencies, settings: Settings) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead = ObjectStore(endpoint=f"127.0.0.1:{dead_port}", access_key=settings.s3_access_key,
                       secret_key=settings.s3_secret_key.get_secret_value(), region=settings.s3_region, secure=False)
    try:
        live = deps.documents
        owner = new_id()
        slot = await live.create_slot(owner, Purpose.PHOTO, "a.jpg", len(JPEG), "image/jpeg", "put")
        async with httpx.AsyncClient() as phone:
            put = await phone.put(slot.url, content=JPEG, headers=slot.headers)
        assert put.status_code == 200, put.text
        broken = Documents(DocumentRepository(deps.db), dead, settings.s3_bucket_documents)
        with pytest.raises(AppError) as caught:
            await broken.confirm(owner, slot.document["_id"])
        assert caught.value.error is SE.STORAGE_UNAVAILABLE
        assert (await live.get(owner, slot.document["_id"]))["state"] == "pending"
        assert (await live.confirm(owner, slot.document["_id"]))["state"] == "ready"  # S3 back: it goes through
    finally:
        dead.close()
