"""The repository base: one class per collection, owning its name and its indexes.

Repositories are the only code that touches a collection. `ensure_indexes` runs at every start-up and is
idempotent (MongoDB's createIndexes is a no-op for an identical index); a changed definition under an existing
name fails loudly instead of silently keeping the old one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure


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


async def ensure_all_indexes(db: AsyncDatabase[dict[str, Any]], repositories: Iterable[type[Repository]]) -> dict[str, list[str]]:
    return {repo.collection_name: await repo(db).ensure_indexes() for repo in repositories}
