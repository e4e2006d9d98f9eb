"""Storage of ratings (好差评): one document per rated case, with the follow-up a 差评 owes.

A rating is a fact about an ended case, not a step of it: it lives in its own collection, so rating never
touches the case's version (no 409 for staff reading the case meanwhile). One per case is a unique index, not
only a check: two taps at once store one rating. The follow-up is one conditional update on `needs_follow_up`,
so it is recorded once whoever races.

Staff lists read `(department_code, needs_follow_up?, _id desc)`; like the inbox (affairs/case_repository.py),
the region subtree is checked on the rows as they stream, never in the query, because any condition on
`region_prefix` makes the local server's planner drop the index.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from core.mongo import Repository


class RatingRepository(Repository):
    collection_name = "case_ratings"
    indexes = (
        IndexModel([("case_id", ASCENDING)], unique=True, name="case_unique"),
        IndexModel([("department_code", ASCENDING), ("_id", DESCENDING)], name="department_recent"),
        IndexModel([("department_code", ASCENDING), ("needs_follow_up", ASCENDING), ("_id", DESCENDING)],
                   name="department_follow_up"),
    )

    async def of_case(self, case_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"case_id": case_id})

    async def get(self, rating_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": rating_id})

    async def insert(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Store the case's rating; when the case has one already (a replay or a race), that one is returned."""
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            existing = await self.of_case(doc["case_id"])
            if existing is None:  # the unique key was something else: not ours to hide
                raise
            return existing
        return doc

    async def record_follow_up(self, rating_id: str, follow_up: dict[str, Any]) -> dict[str, Any] | None:
        """Set the follow-up if none is recorded yet; the updated rating, or None when one already was."""
        return await self.collection.find_one_and_update(
            {"_id": rating_id, "needs_follow_up": True},
            {"$set": {"follow_up": follow_up, "needs_follow_up": False}}, return_document=ReturnDocument.AFTER)

    async def page(self, query: dict[str, Any], *, limit: int, region_prefix: str | None) -> list[dict[str, Any]]:
        """Newest first: the first `limit` ratings matching `query` inside the region subtree (checked per row)."""
        cursor = self.collection.find(query).sort("_id", DESCENDING)
        rows: list[dict[str, Any]] = []
        async with cursor:
            async for doc in cursor:
                if region_prefix is None or doc["region_prefix"].startswith(region_prefix):
                    rows.append(doc)
                    if len(rows) == limit:
                        break
        return rows

    async def counts(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Ratings matching `query` counted per (department, region prefix, level), with follow-ups pending."""
        pipeline = [{"$match": query}, {"$group": {
            "_id": {"department_code": "$department_code", "region_prefix": "$region_prefix", "level": "$level"},
            "department_name": {"$first": "$department_name"}, "n": {"$sum": 1},
            "pending": {"$sum": {"$cond": ["$needs_follow_up", 1, 0]}}}}]
        return [doc async for doc in await self.collection.aggregate(pipeline)]
