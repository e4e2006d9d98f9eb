"""Builds the clients a process needs from settings, and checks that each dependency answers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from config.settings import Settings
from core.idempotency import IdempotencyRepository
from core.mongo import Repository, ensure_all_indexes
from notifications.celery_app import create_celery
from notifications.publisher import TaskPublisher
from storage.object_store import ObjectStore

log = structlog.get_logger(__name__)

# Every collection's repository, so start-up creates every index. Domain packages add theirs here.
REPOSITORIES: tuple[type[Repository], ...] = (IdempotencyRepository,)


@dataclass
class Dependencies:
    settings: Settings
    mongo: AsyncMongoClient[dict[str, Any]]
    redis: aioredis.Redis
    objects: ObjectStore
    tasks: TaskPublisher

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        return self.mongo[self.settings.mongodb_db]

    @classmethod
    def from_settings(cls, settings: Settings) -> Dependencies:
        """Build the clients; nothing connects until first use, so this never blocks or fails on a dead server."""
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongodb_uri,
            serverSelectionTimeoutMS=settings.mongodb_server_selection_timeout_ms,
            connectTimeoutMS=2000,
            tz_aware=True,
            appname="zsb",
        )
        redis = aioredis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=1, socket_timeout=2, health_check_interval=30
        )
        objects = ObjectStore(
            endpoint=settings.s3_netloc,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            region=settings.s3_region,
            secure=settings.s3_secure,
        )
        tasks = TaskPublisher(create_celery(settings))
        return cls(settings=settings, mongo=mongo, redis=redis, objects=objects, tasks=tasks)

    async def check(self, *, require_buckets: bool = True) -> dict[str, str]:
        """Ask each dependency concurrently, each bounded by the same short timeout. `ok` or the reason."""
        timeout = self.settings.dependency_check_timeout_s
        probes = {
            "mongodb": self.db.command("ping"),
            "redis": self.redis.ping(),
            "s3": self.objects.ping(self.settings.s3_bucket_documents if require_buckets else None),
        }
        results = await asyncio.gather(
            *(asyncio.wait_for(probe, timeout) for probe in probes.values()), return_exceptions=True
        )
        return {name: _describe(result) for name, result in zip(probes, results, strict=True)}

    async def wait_until_ready(self, *, timeout: float = 60.0) -> None:
        """At start-up: wait for the servers (they may be starting alongside us), then fail loudly."""
        deadline = time.monotonic() + timeout
        while True:
            status = await self.check(require_buckets=False)
            if all(v == "ok" for v in status.values()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"dependencies not ready after {timeout:.0f}s: {status}")
            log.info("waiting_for_dependencies", status=status)
            await asyncio.sleep(0.5)

    async def prepare(self) -> None:
        """Idempotent start-up work: indexes of every collection and the buckets."""
        await ensure_all_indexes(self.db, REPOSITORIES)
        created = await self.objects.ensure_buckets([self.settings.s3_bucket_documents])
        if created:
            log.info("buckets_created", buckets=created)

    async def close(self) -> None:
        await self.mongo.close()
        await self.redis.aclose()
        self.objects.close()
        self.tasks.close()


def _describe(result: object) -> str:
    if not isinstance(result, BaseException):
        return "ok"
    if isinstance(result, TimeoutError):
        return "timeout"
    return f"{type(result).__name__}: {result}"[:200]
