"""Adapter over any S3 server (MinIO in production, SeaweedFS locally) through the synchronous `minio` client.

Every call runs in a small dedicated thread pool so the IOLoop never blocks. The client is built with `region=`
so presigning needs no network round trip. A second client with short timeouts and no retries serves the
readiness probe, so a dead S3 is reported within the probe's budget instead of after urllib3's retries.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import urllib3
from minio import Minio

T = TypeVar("T")


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

    def _read(self, bucket: str, key: str) -> bytes:
        response = self._client.get_object(bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def delete(self, bucket: str, key: str) -> None:
        """Remove an object; removing one that is already gone is not an error (S3 semantics)."""
        await self._run(self._client.remove_object, bucket, key)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
