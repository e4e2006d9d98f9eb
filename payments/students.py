"""Students of a school's roster (`students`), with their guardians' links.

A student is keyed by (school, student number): a roster import upserts by that pair, so importing the same
roster twice changes nothing. The student's citizen ID number and up to two guardian phones are personal data:
stored as `FieldCipher` tokens, found by blind index and shown masked (`protect_id`, `protect_phone`). Their
contexts and index domains are the student's own (`student.id_number`, `student.guardian_phone`), so nothing
here can be joined with the `people` collection by index: a link is proven by computing the index of what the
parent typed, or of their own decrypted phone, in this domain (payments/guardians.py).

`guardian_person_ids` are the people linked to the child (at most two, a database condition, not just a check);
`guardians` records how and when each link was made. `version` increases with every change of the links, so a
link or unlink based on an old read is retried from a fresh one.

A student who left the school (退学/转学, payments/student_leaving.py) keeps the document with `left` set (date,
kind, reason, who, when): guardians still see the paid bills and receipts, no bill is generated for them any
more (`billable`), and a roster import leaves them left (it says so in its report).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from core.masking import mask_id_number, mask_phone
from core.mongo import Repository
from core.pii import BlindIndex, FieldCipher

ID_CONTEXT = "student.id_number"
GUARDIAN_PHONE_CONTEXT = "student.guardian_phone"
MAX_GUARDIANS = 2
Session = AsyncClientSession | None
_DOTS = re.compile(r"[·•・‧∙]")  # the 间隔号 of minority names, however the IME typed it


def name_key(name: str) -> str:
    """What two spellings of one name have in common: NFKC, no spaces, one kind of middle dot."""
    return _DOTS.sub("·", "".join(unicodedata.normalize("NFKC", name).split()))


def protect_id(number: str, cipher: FieldCipher, index: BlindIndex) -> dict[str, str]:
    return {"cipher": cipher.encrypt(number, context=ID_CONTEXT), "index": index.id_number(number, domain=ID_CONTEXT),
            "masked": mask_id_number(number)}


def guardian_phone_index(e164: str, index: BlindIndex) -> str:
    return index.phone(e164, domain=GUARDIAN_PHONE_CONTEXT)


def protect_phone(e164: str, cipher: FieldCipher, index: BlindIndex) -> dict[str, str]:
    return {"cipher": cipher.encrypt(e164, context=GUARDIAN_PHONE_CONTEXT), "index": guardian_phone_index(e164, index),
            "masked": mask_phone(e164)}


class StudentRepository(Repository):
    collection_name = "students"
    indexes = (
        IndexModel([("school_id", ASCENDING), ("student_no", ASCENDING)], unique=True, name="school_number_unique"),
        IndexModel([("school_id", ASCENDING), ("id_number.index", ASCENDING)], unique=True,
                   name="school_id_number_unique"),
        IndexModel([("id_number.index", ASCENDING)], name="id_number_index"),
        IndexModel([("guardian_person_ids", ASCENDING)], name="guardians"),
        IndexModel([("school_id", ASCENDING), ("class_id", ASCENDING), ("student_no", ASCENDING)], name="class"),
        IndexModel([("school_id", ASCENDING), ("_id", ASCENDING)], name="school_order"),
    )

    async def get(self, student_id: str, *, session: Session = None) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": student_id}, session=session)

    async def by_numbers(self, school_id: str, numbers: list[str]) -> dict[str, dict[str, Any]]:
        """The school's students with these student numbers, by number (for the roster import's diff)."""
        cursor = self.collection.find({"school_id": school_id, "student_no": {"$in": numbers}})
        return {doc["student_no"]: doc async for doc in cursor}

    async def numbers_by_id_index(self, school_id: str, indexes: list[str]) -> dict[str, str]:
        """{ID blind index: student number} of the school's students holding these ID numbers."""
        cursor = self.collection.find({"school_id": school_id, "id_number.index": {"$in": indexes}},
                                      {"id_number.index": 1, "student_no": 1})
        return {doc["id_number"]["index"]: doc["student_no"] async for doc in cursor}

    async def insert_many(self, docs: list[dict[str, Any]]) -> None:
        if docs:
            await self.collection.insert_many(docs, ordered=False)

    async def update_roster(self, changes: list[tuple[str, dict[str, Any]]]) -> None:
        """Apply roster fields to existing students ({id: fields}); guardian links are never touched here."""
        if changes:
            await self.collection.bulk_write([UpdateOne({"_id": sid}, {"$set": fields}) for sid, fields in changes],
                                             ordered=False)

    async def with_id_index(self, index: str) -> list[dict[str, Any]]:
        """Every roster entry (in any school) of the child with this ID number."""
        return [doc async for doc in self.collection.find({"id_number.index": index}).limit(10)]

    async def of_class(self, school_id: str, class_id: str, *, after: str | None = None,
                       limit: int = 200) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"school_id": school_id, "class_id": class_id}
        if after:
            query["student_no"] = {"$gt": after}
        cursor = self.collection.find(query).sort("student_no", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def billable(self, school_id: str, grades: Iterable[str], class_ids: Iterable[str], *,
                       after: str | None, limit: int) -> list[dict[str, Any]]:
        """Students a fee item applies to (its grades or its classes), in id order, a page at a time."""
        query: dict[str, Any] = {"school_id": school_id, "left": None,
                                 "$or": [{"grade": {"$in": list(grades)}}, {"class_id": {"$in": list(class_ids)}}]}
        if after:
            query["_id"] = {"$gt": after}
        projection = {"name": 1, "student_no": 1, "grade": 1, "class_id": 1, "class_name": 1,
                      "guardian_person_ids": 1}
        cursor = self.collection.find(query, projection).sort("_id", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def of_guardian(self, person_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"guardian_person_ids": person_id}).sort("_id", ASCENDING)
        return [doc async for doc in cursor]

    async def add_guardian(self, student_id: str, version: int, link: dict[str, Any], *,
                           session: Session = None) -> dict[str, Any] | None:
        """Link `link["person_id"]` if the student is still at `version`, not linked to them, and has fewer than
        MAX_GUARDIANS; the updated student, or None when any of that no longer holds."""
        person_id = link["person_id"]
        return await self.collection.find_one_and_update(
            {"_id": student_id, "version": version, "guardian_person_ids": {"$ne": person_id},
             f"guardian_person_ids.{MAX_GUARDIANS - 1}": {"$exists": False}},
            {"$push": {"guardian_person_ids": person_id, "guardians": link}, "$inc": {"version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def remove_guardian(self, student_id: str, person_id: str, *,
                              session: Session = None) -> dict[str, Any] | None:
        return await self.collection.find_one_and_update(
            {"_id": student_id, "guardian_person_ids": person_id},
            {"$pull": {"guardian_person_ids": person_id, "guardians": {"person_id": person_id}},
             "$inc": {"version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def count_of_guardian(self, person_id: str, *, session: Session = None) -> int:
        return await self.collection.count_documents({"guardian_person_ids": person_id}, session=session)

    async def mark_left(self, student_id: str, left: dict[str, Any], *, session: Session = None) -> dict[str, Any] | None:
        """Record that the student left the school, once; the student after, or None when already left."""
        return await self.collection.find_one_and_update(
            {"_id": student_id, "left": None}, {"$set": {"left": left, "updated_at": left["at"]}, "$inc": {"version": 1}},
            session=session, return_document=ReturnDocument.AFTER)

    async def count_by_class(self, school_id: str) -> dict[str, int]:
        """Students in each class now (those who left are not counted)."""
        pipeline = [{"$match": {"school_id": school_id, "left": None}},
                    {"$group": {"_id": "$class_id", "n": {"$sum": 1}}}]
        return {row["_id"]: row["n"] async for row in await self.collection.aggregate(pipeline)}
