"""Adapter over any S3 server (MinIO in production, SeaweedFS locally) through the synchronous `minio` client.

Every call runs in a small dedicated thread pool so the IOLoop never blocks. The client is built with `region=`
so presigning needs no network round trip. A second client with short timeouts and no retries serves the
readiness probe, so a dead S3 is reported within the probe's budget instead of after urllib3's retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar
from urllib.parse import quote

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, CopySource, Filter
from minio.datatypes import PostPolicy
from minio.error import S3Error
from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule

T = TypeVar("T")
_MISSING = ("NoSuchKey",)  # minio names a 404 on an object (HEAD has no error body) NoSuchKey


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Listed:
    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class PostForm:
    """A browser-style upload (`wx.uploadFile`): POST multipart/form-data to `url` with `fields` then the file."""

    url: str
    fields: dict[str, str]


class ObjectStore:
    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        region: str,
        secure: bool,
        max_workers: int = 16,
    ) -> None:
        self._endpoint_url = f"{'https' if secure else 'http'}://{endpoint}"
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="s3")
        self._client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, region=region, secure=secure,
            http_client=self._pool(timeout=urllib3.Timeout(connect=2, read=30), retries=3, size=max_workers),
        )
        self._probe = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, region=region, secure=secure,
            http_client=self._pool(timeout=urllib3.Timeout(connect=1, read=1), retries=0, size=2),
        )

    @staticmethod
    def _pool(*, timeout: urllib3.Timeout, retries: int, size: int) -> urllib3.PoolManager:
        return urllib3.PoolManager(
            timeout=timeout,
            maxsize=size,
            retries=urllib3.Retry(total=retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )

    async def _run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args, **kwargs))

    async def ensure_buckets(self, names: Iterable[str]) -> list[str]:
        """Create missing buckets (private: no bucket policy is set, so anonymous access is refused)."""
        created = []
        for name in names:
            if not await self._run(self._client.bucket_exists, name):
                await self._run(self._client.make_bucket, name)
                created.append(name)
        return created

    async def ensure_expiry(self, bucket: str, prefix: str, days: int) -> bool:
        """Idempotently set a lifecycle rule expiring objects under `prefix` after `days`; True when it changed.
        MinIO enforces it; SeaweedFS stores and returns it but does not expire objects (docs/documents.md),
        so the clean-up job's sweep of the prefix is the guarantee and this rule a second line in production."""
        rule_id = f"expire-{prefix.strip('/').replace('/', '-')}"
        wanted = Rule(ENABLED, rule_filter=Filter(prefix=prefix), rule_id=rule_id, expiration=Expiration(days=days))
        current = await self._run(self._client.get_bucket_lifecycle, bucket)
        others = [r for r in (current.rules if current else []) if r.rule_id != rule_id]
        mine = [r for r in (current.rules if current else []) if r.rule_id == rule_id]
        if mine and mine[0].rule_filter.prefix == prefix and mine[0].expiration.days == days:
            return False
        await self._run(self._client.set_bucket_lifecycle, bucket, LifecycleConfig([*others, wanted]))
        return True

    async def expiry_days(self, bucket: str, prefix: str) -> int | None:
        """The expiry of the lifecycle rule on exactly `prefix`, if any (to check ensure_expiry)."""
        current = await self._run(self._client.get_bucket_lifecycle, bucket)
        for rule in current.rules if current else []:
            if rule.rule_filter and rule.rule_filter.prefix == prefix and rule.expiration:
                return rule.expiration.days
        return None

    async def ping(self, bucket: str | None = None) -> None:
        """Readiness: an authenticated request that must succeed (and the bucket exist); raises otherwise."""
        if bucket is None:
            await self._run(self._probe.list_buckets)
        elif not await self._run(self._probe.bucket_exists, bucket):
            raise RuntimeError(f"bucket {bucket} is missing")

    async def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """Store a small object whole (an uploaded file already held in memory)."""
        await self._run(self._client.put_object, bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    async def get_bytes(self, bucket: str, key: str) -> bytes:
        """Read a small object whole."""
        return await self._run(self._read, bucket, key)

    def _read(self, bucket: str, key: str, offset: int = 0, length: int = 0) -> bytes:
        response = self._client.get_object(bucket, key, offset=offset, length=length)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def delete(self, bucket: str, key: str) -> None:
        """Remove an object; removing one that is already gone is not an error (S3 semantics)."""
        await self._run(self._client.remove_object, bucket, key)

    async def copy(self, bucket: str, source_key: str, target_key: str) -> bool:
        """Server-side copy inside the bucket (no bytes through us); False when the source is missing."""
        return await self._run(self._copy, bucket, source_key, target_key)

    def _copy(self, bucket: str, source_key: str, target_key: str) -> bool:
        try:
            self._client.copy_object(bucket, target_key, CopySource(bucket, source_key))
        except S3Error as exc:
            if exc.code in _MISSING:
                return False
            raise
        return True

    async def list_older(self, bucket: str, prefix: str, before: datetime, *, limit: int = 1000) -> list[Listed]:
        """Objects under `prefix` last written before `before` (at most `limit`), for the clean-up sweep."""
        return await self._run(self._list_older, bucket, prefix, before, limit)

    def _list_older(self, bucket: str, prefix: str, before: datetime, limit: int) -> list[Listed]:
        found: list[Listed] = []
        for item in self._client.list_objects(bucket, prefix=prefix, recursive=True):
            if item.last_modified is not None and item.last_modified < before and not item.is_dir:
                found.append(Listed(item.object_name or "", item.size or 0, item.last_modified))
                if len(found) >= limit:
                    break
        return found

    # -- presigning: signed locally (the client knows its region), no request to S3 ---------------------------
    async def presign_post(self, bucket: str, key: str, *, content_type: str, max_size: int,
                           expires: timedelta) -> PostForm:
        """A POST policy fixing the key, the Content-Type and a 1..max_size byte range; S3 refuses anything else."""
        policy = PostPolicy(bucket, datetime.now(UTC) + expires)
        policy.add_equals_condition("key", key)
        policy.add_equals_condition("Content-Type", content_type)
        policy.add_content_length_range_condition(1, max_size)
        fields = await self._run(self._client.presigned_post_policy, policy)
        form = {"key": key, "Content-Type": content_type, **fields}
        return PostForm(url=f"{self._endpoint_url}/{bucket}", fields=form)

    async def presign_put(self, bucket: str, key: str, *, expires: timedelta) -> str:
        return await self._run(self._client.presigned_put_object, bucket, key, expires=expires)

    async def presign_get(self, bucket: str, key: str, *, expires: timedelta,
                          download_name: str | None = None, content_type: str | None = None) -> str:
        """A GET valid for `expires`; `download_name`/`content_type` are signed into the URL, so the browser
        saves the file under its own name and type whatever the object's stored metadata says."""
        headers: dict[str, str | list[str] | tuple[str]] = {}
        if download_name:
            headers["response-content-disposition"] = f"attachment; filename*=UTF-8''{quote(download_name, safe='')}"
        if content_type:
            headers["response-content-type"] = content_type
        return await self._run(self._client.presigned_get_object, bucket, key, expires=expires,
                               response_headers=headers or None)

    # -- reading what a client uploaded ---------------------------------------------------------------------
    async def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        """Size and type of an object; None when there is none."""
        return await self._run(self._stat, bucket, key)

    def _stat(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            found = self._client.stat_object(bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise
        return ObjectInfo(size=found.size or 0, content_type=found.content_type)

    async def read_range(self, bucket: str, key: str, offset: int, length: int) -> bytes:
        return await self._run(self._read, bucket, key, offset, length)

    async def sha256(self, bucket: str, key: str) -> tuple[str, int]:
        """SHA-256 hex digest and byte count of an object, streamed in 256 KiB chunks inside the thread pool."""
        return await self._run(self._sha256, bucket, key)

    def _sha256(self, bucket: str, key: str) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        response = self._client.get_object(bucket, key)
        try:
            for chunk in response.stream(256 * 1024):
                digest.update(chunk)
                size += len(chunk)
        finally:
            response.close()
            response.release_conn()
        return digest.hexdigest(), size

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
