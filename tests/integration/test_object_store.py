"""The S3 adapter against SeaweedFS with signatures enforced."""

from __future__ import annotations

import httpx
import pytest

from config.settings import Settings
from config.wiring import Dependencies
from storage.object_store import ObjectStore


async def test_buckets_are_created_once_and_private(deps: Dependencies, settings: Settings) -> None:
    assert await deps.objects.ensure_buckets([settings.s3_bucket_documents]) == []  # prepare() made it
    await deps.objects.ping(settings.s3_bucket_documents)
    async with httpx.AsyncClient() as client:
        anonymous = await client.get(f"{settings.s3_endpoint}/{settings.s3_bucket_documents}/")
    assert anonymous.status_code == 403


async def test_wrong_secret_is_refused(settings: Settings) -> None:
    forged = ObjectStore(endpoint=settings.s3_netloc, access_key=settings.s3_access_key, secret_key="not-the-secret",
                         region=settings.s3_region, secure=False)
    try:
        with pytest.raises(Exception, match="SignatureDoesNotMatch|AccessDenied"):
            await forged.ping(settings.s3_bucket_documents)
    finally:
        forged.close()
