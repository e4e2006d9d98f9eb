"""The repository base: one class per collection, owning its name and its indexes.

Repositories are the only code that touches a collection. `ensure_indexes` runs at every start-up and is
idempotent (MongoDB's createIndexes is a no-op for an identical index); a changed definition under an existing
name fails loudly instead of silently keeping the old one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from bson.codec_options import CodecOptions
from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure

DUPLICATE_KEY = 11000
# How documents kept outside MongoDB (the Redis caches) are decoded: aware UTC times, as the client gives them
# (config.wiring.mongo_client: tz_aware=True).
AWARE_UTC: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)


class IndexDefinitionConflict(RuntimeError):
    """An index exists under the same name with other options: it needs a migration, not a restart."""


class Repository:
    collection_name: ClassVar[str]
    indexes: ClassVar[tuple[IndexModel, ...]] = ()

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db
        self.collection: AsyncCollection[dict[str, Any]] = db[self.collection_name]

    async def ensure_indexes(self) -> list[str]:
        if not self.indexes:
            return []
        try:
            return await self.collection.create_indexes(list(self.indexes))
        except OperationFailure as exc:
            if exc.code in (85, 86):  # IndexOptionsConflict, IndexKeySpecsConflict
                raise IndexDefinitionConflict(f"{self.collection_name}: {exc.details}") from exc
            raise

    async def by_ids(self, ids: Iterable[Any], projection: dict[str, Any] | None = None) -> dict[Any, dict[str, Any]]:
        """Documents by `_id` in one query (batch work reads its inputs at once, not one round trip each);
        missing ids are absent from the answer."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        return {doc["_id"]: doc async for doc in self.collection.find({"_id": {"$in": wanted}}, projection)}


async def insert_new(collection: AsyncCollection[dict[str, Any]], docs: list[dict[str, Any]]) -> list[int]:
    """Insert what is new, unordered; the positions in `docs` actually inserted. A document whose unique key
    exists already is the idempotent case (a retry, a second dispatch, a lost race), not an error; any other
    write error is raised."""
    if not docs:
        return []
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        failed = {e["index"] for e in errors}
        return [i for i in range(len(docs)) if i not in failed]
    return list(range(len(docs)))


async def ensure_all_indexes(db: AsyncDatabase[dict[str, Any]], repositories: Iterable[type[Repository]]) -> dict[str, list[str]]:
    return {repo.collection_name: await repo(db).ensure_indexes() for repo in repositories}
