"""Idempotency keys: the same key with the same body returns the first answer; another body is refused.

Clients (and providers) retry POSTs; the `Idempotency-Key` header makes the retry safe. Only successful
answers are stored: when the first attempt failed, the retry is free to try again. A claim left pending by a
crashed process expires after `lease` so the key does not stay stuck; records themselves expire after a day.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from core.errors import IDEMPOTENCY_IN_PROGRESS, IDEMPOTENCY_KEY_REUSED, AppError
from core.mongo import Repository

RETENTION = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    body: Any


def fingerprint(method: str, route: str, body: bytes) -> str:
    """What makes two requests 'the same': method, route and the canonical JSON body."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + route.encode() + b"\n" + canonical).hexdigest()


class IdempotencyRepository(Repository):
    collection_name = "idempotency_keys"
    indexes = (
        IndexModel([("scope", 1), ("key", 1)], unique=True, name="scope_key_unique"),
        IndexModel([("created_at", 1)], expireAfterSeconds=int(RETENTION.total_seconds()), name="created_at_ttl"),
    )

    async def claim(
        self, scope: str, key: str, print_: str, *, lease: timedelta = timedelta(seconds=60)
    ) -> StoredAnswer | None:
        """Claim the key for this request. Returns the stored answer when the request was already answered."""
        now = datetime.now(UTC)
        try:
            await self.collection.insert_one(
                {"scope": scope, "key": key, "fingerprint": print_, "state": "pending", "created_at": now,
                 "claimed_at": now}
            )
            return None
        except DuplicateKeyError:
            pass
        doc = await self.collection.find_one({"scope": scope, "key": key})
        if doc is None:  # expired between our insert and read: claim again
            return await self.claim(scope, key, print_, lease=lease)
        if doc["fingerprint"] != print_:
            raise AppError(IDEMPOTENCY_KEY_REUSED)
        if doc["state"] == "done":
            return StoredAnswer(doc["status"], doc["body"])
        taken = await self.collection.find_one_and_update(
            {"_id": doc["_id"], "state": "pending", "claimed_at": {"$lt": now - lease}},
            {"$set": {"claimed_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if taken is None:
            raise AppError(IDEMPOTENCY_IN_PROGRESS)
        return None

    async def complete(self, scope: str, key: str, answer: StoredAnswer) -> None:
        await self.collection.update_one(
            {"scope": scope, "key": key},
            {"$set": {"state": "done", "status": answer.status, "body": answer.body,
                      "completed_at": datetime.now(UTC)}},
        )

    async def release(self, scope: str, key: str) -> None:
        """The first attempt failed: forget the claim so that a retry runs again."""
        await self.collection.delete_one({"scope": scope, "key": key, "state": "pending"})
