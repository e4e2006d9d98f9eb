"""Classes of a school (`school_classes`): made by roster imports, referred to by fee items and exports.

A class is (school, grade, name) as the school writes them in its roster, e.g. (一年级, 1班); the pair is unique
per school, so importing the same roster again finds the same class ids. Fee items name grades by their label
and classes by id (payments/fee_item_model.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument

from core.clock import bson_time
from core.ids import new_id
from core.mongo import Repository


class ClassRepository(Repository):
    collection_name = "school_classes"
    indexes = (IndexModel([("school_id", ASCENDING), ("grade", ASCENDING), ("name", ASCENDING)], unique=True,
                          name="school_grade_name_unique"),)

    async def ensure(self, school_id: str, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The id of each (grade, name), creating the classes that do not exist yet (idempotent)."""
        ids: dict[tuple[str, str], str] = {}
        for grade, name in dict.fromkeys(pairs):
            doc = await self.collection.find_one_and_update(
                {"school_id": school_id, "grade": grade, "name": name},
                {"$setOnInsert": {"_id": new_id(), "created_at": bson_time()}},
                upsert=True, return_document=ReturnDocument.AFTER)
            ids[(grade, name)] = doc["_id"]
        return ids

    async def get(self, class_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": class_id})

    async def of_school(self, school_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"school_id": school_id}).sort([("grade", ASCENDING), ("name", ASCENDING)])
        return [doc async for doc in cursor]
