"""Per-person limits on upload slots: a quota of open documents (count and bytes) and a rate of new slots per
rolling hour (`limits` on the real Redis), with answers a resident can act on."""

from __future__ import annotations

import pytest

from config.settings import Settings
from config.wiring import Dependencies
from core.errors import AppError
from core.ids import new_id
from storage import errors as SE
from storage.document_checks import MB, Purpose
from storage.document_service import Documents
from storage.slot_limits import SlotLimits


def limited(deps: Dependencies, settings: Settings, **limits: int) -> Documents:
    values = {"per_hour": 100, "quota_count": 100, "quota_bytes": 100 * MB} | limits
    slot_limits = SlotLimits(deps.documents.repo, deps.redis, redis_url=settings.redis_url, **values)
    return Documents(deps.documents.repo, deps.objects, settings.s3_bucket_documents, limits=slot_limits)


async def ask(documents: Documents, owner: str, size: int = 1000) -> str:
    slot = await documents.create_slot(owner, Purpose.PHOTO, "a.jpg", size, "image/jpeg", "post")
    return slot.document["_id"]


async def test_quota_counts_open_documents_and_frees_on_delete_or_attach(deps: Dependencies,
                                                                         settings: Settings) -> None:
    documents, owner = limited(deps, settings, quota_count=3, quota_bytes=12 * MB), new_id()
    ids = [await ask(documents, owner) for _ in range(3)]
    with pytest.raises(AppError) as caught:
        await ask(documents, owner)
    error = caught.value
    assert (error.status, error.error) == (409, SE.DOCUMENT_QUOTA_EXCEEDED)
    assert "最多 3 个" in error.message and error.extra["used_count"] == 3
    await ask(documents, new_id())  # someone else is not affected
    await documents.delete(owner, ids[0])  # the owner makes room
    await ask(documents, owner)

    other = new_id()
    await ask(documents, other, 10 * MB)
    with pytest.raises(AppError) as caught:
        await ask(documents, other, 3 * MB)  # 13 MB > 12 MB
    assert caught.value.error is SE.DOCUMENT_QUOTA_EXCEEDED and "12 MB" in caught.value.message
    await ask(documents, other, 2 * MB)


async def test_slots_per_hour_is_429_with_retry_after(deps: Dependencies, settings: Settings) -> None:
    documents, owner = limited(deps, settings, per_hour=2), new_id()
    await ask(documents, owner)
    await ask(documents, owner)
    with pytest.raises(AppError) as caught:
        await ask(documents, owner)
    error = caught.value
    assert (error.status, error.error) == (429, SE.DOCUMENT_SLOTS_RATE_LIMITED)
    assert 3000 < int(error.headers["Retry-After"]) <= 3600 and "每小时最多 2 个" in error.message
    assert await deps.documents.repo.open_usage(owner) == (2, 2000)  # the refused slot recorded nothing
    await ask(documents, new_id())  # per person


async def test_the_api_applies_the_settings(deps: Dependencies, settings: Settings) -> None:
    limits = deps.documents.limits
    assert limits is not None
    assert (limits.quota_count, limits.quota_bytes, limits.rate.amount) == (
        settings.document_quota_count, settings.document_quota_bytes, settings.document_slots_per_hour)
