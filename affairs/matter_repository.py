"""Storage of the catalogue: `matters` (one working document per matter) and `matter_versions` (immutable).

A `matters` document holds what changes: the working draft (`draft`: version, state, guide), the publication
state, and `published` — the search terms, filter fields and list card of the version now live, denormalised so
that a list or search page is one indexed query with no join. Every write is conditional on the `revision` the
caller read, so two editors never overwrite each other silently.

A `matter_versions` document is one published version (`<code>@<n>`), written once at publish time and never
updated: this repository has no method that could. Cases keep the version they were filed under and read it here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from core.mongo import Repository

SORT = [("published.sort_key", ASCENDING), ("_id", ASCENDING)]
CARD_PROJECTION = {"published.card": 1, "published.sort_key": 1}


class MatterRepository(Repository):
    collection_name = "matters"
    indexes = (
        IndexModel([("listed", ASCENDING), ("published.sort_key", ASCENDING), ("_id", ASCENDING)], name="listed_sort"),
        IndexModel([("published.terms", ASCENDING)], name="terms"),
        IndexModel([("published.life_events", ASCENDING)], name="life_events"),
        IndexModel([("published.themes", ASCENDING)], name="themes"),
        IndexModel([("published.department_code", ASCENDING)], name="published_department"),
        IndexModel([("published.region_code", ASCENDING)], name="published_region"),
        IndexModel([("department_code", ASCENDING), ("_id", ASCENDING)], name="department"),
    )

    async def insert(self, doc: dict[str, Any], *, session: AsyncClientSession | None = None) -> bool:
        """Store a new matter; False when the code is taken (inside a transaction, which is then aborted)."""
        try:
            await self.collection.insert_one(doc, session=session)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, code: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": code})

    async def many(self, codes: list[str]) -> dict[str, dict[str, Any]]:
        """The matters among `codes` that exist, by code."""
        return {doc["_id"]: doc async for doc in self.collection.find({"_id": {"$in": codes}})}

    async def update(self, code: str, *, revision: int, changes: dict[str, Any], now: datetime,
                     session: AsyncClientSession | None = None) -> dict[str, Any] | None:
        """Apply `changes` ($set) if the document is still at `revision`; the new document, or None when someone
        changed it in between (the caller answers 409)."""
        return await self.collection.find_one_and_update(
            {"_id": code, "revision": revision},
            {"$set": {**changes, "updated_at": now}, "$inc": {"revision": 1}},
            return_document=ReturnDocument.AFTER, session=session,
        )

    async def live_versions(self, query: dict[str, Any]) -> list[tuple[str, int]]:
        """(code, live version) of the listed matters matching `query`, by code (the catalogue export)."""
        cursor = self.collection.find({**query, "listed": True}, {"published.version": 1}).sort("_id", ASCENDING)
        return [(doc["_id"], doc["published"]["version"]) async for doc in cursor]

    async def listed_page(self, query: dict[str, Any], *, after: tuple[str, str] | None,
                          limit: int) -> list[dict[str, Any]]:
        """Published matters matching `query`, in (pinyin name, code) order, strictly after `after`."""
        filters: dict[str, Any] = {**query, "listed": True}
        if after is not None:
            key, code = after
            filters["$or"] = [{"published.sort_key": {"$gt": key}},
                              {"published.sort_key": key, "_id": {"$gt": code}}]
        cursor = self.collection.find(filters, CARD_PROJECTION).sort(SORT).limit(limit)
        return [doc async for doc in cursor]

    async def listed_state(self, code: str) -> dict[str, Any] | None:
        """What a guide read needs first: is it listed, and which version and ETag are live."""
        return await self.collection.find_one(
            {"_id": code}, {"listed": 1, "published.version": 1, "published.etag": 1})


class MatterVersionRepository(Repository):
    collection_name = "matter_versions"
    indexes = (
        IndexModel([("matter_code", ASCENDING), ("version", DESCENDING)], unique=True, name="matter_version"),
    )

    @staticmethod
    def key(code: str, version: int) -> str:
        return f"{code}@{version}"

    async def insert_once(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Write a version; when it already exists (a retried publish) the stored one is returned unchanged,
        so the caller can tell a harmless retry (same ETag) from a conflict."""
        try:
            await self.collection.insert_one(doc)
            return doc
        except DuplicateKeyError:
            existing = await self.collection.find_one({"_id": doc["_id"]})
            if existing is None:  # pragma: no cover - unique index on (code, version) with another _id
                raise
            return existing

    async def get(self, code: str, version: int) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": self.key(code, version)})

    async def many(self, keys: list[tuple[str, int]]) -> list[dict[str, Any]]:
        """These versions, in the order asked (missing ones left out)."""
        ids = [self.key(code, version) for code, version in keys]
        found = {doc["_id"]: doc async for doc in self.collection.find({"_id": {"$in": ids}})}
        return [found[key] for key in ids if key in found]

    async def numbers(self, code: str) -> list[int]:
        cursor = self.collection.find({"matter_code": code}, {"version": 1}).sort("version", ASCENDING)
        return [doc["version"] async for doc in cursor]
