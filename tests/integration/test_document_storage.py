"""The document adapter and service against SeaweedFS with signatures enforced: presigned links and policies
expire, a dead S3 is a clean 503 that leaves nothing half-recorded, photos lose their GPS before anyone else
sees them, and what is checked is what is kept."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from config.settings import Settings
from config.wiring import Dependencies
from core.errors import AppError
from core.ids import new_id
from storage import errors as SE
from storage.document_checks import Purpose
from storage.document_service import Documents
from storage.documents import INCOMING_PREFIX, DocumentRepository
from storage.object_store import ObjectStore
from tests.support.documents import EXE, exif_of, photo

JPEG = photo()


@pytest.fixture
def dead_store(settings: Settings) -> Iterator[ObjectStore]:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead = ObjectStore(endpoint=f"127.0.0.1:{dead_port}", access_key=settings.s3_access_key,
                       secret_key=settings.s3_secret_key.get_secret_value(), region=settings.s3_region, secure=False)
    yield dead
    dead.close()


async def put_upload(documents: Documents, owner: str, data: bytes, content_type: str = "image/jpeg",
                     purpose: Purpose = Purpose.PHOTO) -> str:
    """A slot and the H5 PUT of `data` to it; the document id."""
    slot = await documents.create_slot(owner, purpose, "a.jpg", len(data), content_type, "put")
    async with httpx.AsyncClient() as phone:
        put = await phone.put(slot.url, content=data, headers=slot.headers)
    assert put.status_code == 200, put.text
    return slot.document["_id"]


async def test_presigned_get_and_post_policy_expire(deps: Dependencies, settings: Settings) -> None:
    bucket, key = settings.s3_bucket_documents, f"incoming/test/{new_id()}"
    await deps.objects.put_bytes(bucket, key, JPEG, "image/jpeg")
    # Signing times are whole seconds (X-Amz-Date): a 1 s link signed at hh:mm:ss.9 is already spent 0.1 s later,
    # so the links live 3 s, the first GET follows its signing at once, and the late ones come after 4 s.
    url = await deps.objects.presign_get(bucket, key, expires=timedelta(seconds=3))
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(url)).content == JPEG
        form = await deps.objects.presign_post(bucket, f"incoming/test/{new_id()}", content_type="image/jpeg",
                                               max_size=len(JPEG), expires=timedelta(seconds=3))
        await asyncio.sleep(4)
        expired = await browser.get(url)
        late = await browser.post(form.url, data=form.fields, files={"file": ("a.jpg", JPEG, "image/jpeg")})
    assert expired.status_code == 403
    assert late.status_code == 403, late.text  # an expired policy is refused by S3 itself
    await deps.objects.delete(bucket, key)


async def test_stat_read_range_hash_copy_and_listing(deps: Dependencies, settings: Settings) -> None:
    bucket, key, copy = settings.s3_bucket_documents, f"incoming/test/{new_id()}", f"documents/test/{new_id()}"
    assert await deps.objects.stat(bucket, key) is None
    assert await deps.objects.copy(bucket, key, copy) is False
    await deps.objects.put_bytes(bucket, key, JPEG, "image/jpeg")
    info = await deps.objects.stat(bucket, key)
    assert info is not None and (info.size, info.content_type) == (len(JPEG), "image/jpeg")
    assert await deps.objects.read_range(bucket, key, 0, 4) == JPEG[:4]
    assert await deps.objects.sha256(bucket, key) == (hashlib.sha256(JPEG).hexdigest(), len(JPEG))
    assert await deps.objects.copy(bucket, key, copy) is True
    assert await deps.objects.get_bytes(bucket, copy) == JPEG
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert key in {o.key for o in await deps.objects.list_older(bucket, "incoming/test/", later)}
    assert key not in {o.key for o in await deps.objects.list_older(bucket, "incoming/test/", later - timedelta(hours=1))}
    for gone in (key, copy):
        await deps.objects.delete(bucket, gone)
        assert await deps.objects.stat(bucket, gone) is None


async def test_lifecycle_rule_for_incoming_is_set_once(deps: Dependencies, settings: Settings) -> None:
    """prepare() set it; SeaweedFS stores and returns it (it does not expire objects: the clean-up job does)."""
    bucket = settings.s3_bucket_documents
    assert await deps.objects.expiry_days(bucket, INCOMING_PREFIX) == 2
    assert await deps.objects.ensure_expiry(bucket, INCOMING_PREFIX, days=2) is False  # idempotent
    assert await deps.objects.ensure_expiry(bucket, "scratch/", days=5) is True  # other rules are kept
    assert await deps.objects.expiry_days(bucket, INCOMING_PREFIX) == 2
    assert await deps.objects.expiry_days(bucket, "scratch/") == 5


async def test_photo_copy_without_gps_replaces_the_upload(deps: Dependencies, settings: Settings) -> None:
    owner, original = new_id(), photo(orientation=8)
    assert exif_of(original)[1]  # the upload carries GPS
    document_id = await put_upload(deps.documents, owner, original)
    ready = await deps.documents.confirm(owner, document_id)
    assert (ready["sha256"], ready["size"]) == (hashlib.sha256(original).hexdigest(), len(original))
    assert ready["privacy"]["removed"][:1] == ["gps"] and ready["privacy"]["orientation_applied"] == 8
    bucket = settings.s3_bucket_documents
    kept = await deps.objects.get_bytes(bucket, ready["object_key"])
    assert exif_of(kept) == ({}, {}, {}) and b"F17XK2SERIAL" not in kept
    assert ready["stored_sha256"] == hashlib.sha256(kept).hexdigest() != ready["sha256"]
    assert await deps.objects.stat(bucket, ready["upload_key"]) is None  # the original is not kept


async def test_what_was_checked_is_what_is_kept(deps: Dependencies, settings: Settings) -> None:
    """The upload URL stays valid for minutes: replacing the upload after confirmation changes nothing."""
    owner = new_id()
    slot = await deps.documents.create_slot(owner, Purpose.PHOTO, "a.jpg", len(EXE) + len(JPEG), "image/jpeg", "put")
    async with httpx.AsyncClient() as phone:
        assert (await phone.put(slot.url, content=JPEG, headers=slot.headers)).status_code == 200
        ready = await deps.documents.confirm(owner, slot.document["_id"])
        assert (await phone.put(slot.url, content=EXE, headers=slot.headers)).status_code == 200
    again = await deps.documents.confirm(owner, slot.document["_id"])
    assert again["stored_sha256"] == ready["stored_sha256"]
    kept = await deps.objects.get_bytes(settings.s3_bucket_documents, ready["object_key"])
    assert hashlib.sha256(kept).hexdigest() == ready["stored_sha256"]


async def test_s3_down_is_503_and_leaves_the_record_pending(deps: Dependencies, settings: Settings,
                                                            dead_store: ObjectStore) -> None:
    live, owner = deps.documents, new_id()
    document_id = await put_upload(live, owner, JPEG)
    broken = Documents(DocumentRepository(deps.db), dead_store, settings.s3_bucket_documents)
    with pytest.raises(AppError) as caught:
        await broken.confirm(owner, document_id)
    assert caught.value.error is SE.STORAGE_UNAVAILABLE
    assert (await live.get(owner, document_id))["state"] == "pending"
    assert (await live.confirm(owner, document_id))["state"] == "ready"  # S3 back: it goes through


async def test_s3_down_when_deleting_leaves_a_claim_the_clean_up_finishes(deps: Dependencies, settings: Settings,
                                                                          dead_store: ObjectStore) -> None:
    """Presigning needs no S3 round trip, so slots and links are issued even while S3 is down (the phone's
    upload then fails at S3, and confirmation answers 503 as above). A deletion while S3 is down is recorded
    as a claim: the document is gone for its owner at once, and the clean-up job removes the objects."""
    owner = new_id()
    document_id = await put_upload(deps.documents, owner, JPEG)
    await deps.documents.confirm(owner, document_id)
    broken = Documents(DocumentRepository(deps.db), dead_store, settings.s3_bucket_documents)
    await broken.delete(owner, document_id)
    with pytest.raises(AppError) as caught:
        await deps.documents.get(owner, document_id)
    assert caught.value.error is SE.DOCUMENT_NOT_FOUND
    claimed = await deps.documents.repo.collection.find_one({"_id": document_id})
    assert claimed is not None and claimed["state"] == "deleting"
    assert await deps.objects.stat(settings.s3_bucket_documents, claimed["object_key"]) is not None
    await deps.documents.purge(claimed)  # what the clean-up job does with every claim it finds
    assert await deps.documents.repo.collection.find_one({"_id": document_id}) is None
    assert await deps.objects.stat(settings.s3_bucket_documents, claimed["object_key"]) is None
