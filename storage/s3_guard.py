"""One translation of "S3 failed" into the API's answer, shared by every storage service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
import urllib3
from minio.error import MinioException

from core.errors import AppError
from storage import errors as SE

log = structlog.get_logger(__name__)


@asynccontextmanager
async def s3_call() -> AsyncIterator[None]:
    """S3 unreachable or failing → 503 STORAGE_UNAVAILABLE. Callers write their records only after the S3 calls
    inside succeeded, so a failure leaves nothing half-recorded."""
    try:
        yield
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        log.warning("storage_unavailable", error=f"{type(exc).__name__}: {exc}"[:200])
        raise AppError(SE.STORAGE_UNAVAILABLE) from exc
