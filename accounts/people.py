"""People (residents, parents, staff as persons): the `people` collection and its repository.

One document per human being. WeChat identities (mini-program and official-account openids, joined by the
unionid), the linked Alipay identity (payments/alipay_login.py), the verified phone and the bound citizen ID hang
off it. Openids and the Alipay open id are app-scoped pseudonyms kept as they are (each unique: one identity,
one person), never logged and never answered. Phone and ID numbers are stored only as
`FieldCipher` tokens plus a blind index (unique: one number belongs to one person) and a masked copy for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from core.ids import new_id
from core.mongo import Repository

ID_CONTEXT = "person.id_number"
PHONE_CONTEXT = "person.phone"


class Level(StrEnum):
    """How sure we are who this is. A matter may require a minimum level."""

    L0 = "L0"  # signed in with WeChat only
    L1 = "L1"  # owns a mobile number (SMS code)
    L2 = "L2"  # real-name verified against the population base


LEVEL_ORDER = {Level.L0: 0, Level.L1: 1, Level.L2: 2}


@dataclass(frozen=True)
class BoundId:
    masked: str
    region_code: str
    birth_date: date
    gender: str
    verified_at: datetime


@dataclass(frozen=True)
class Person:
    id: str
    level: Level
    name: str | None = None
    phone_masked: str | None = None
    citizen_id: BoundId | None = None
    unionid: str | None = None
    mp_openid: str | None = None
    oa_openid: str | None = None
    alipay_open_id: str | None = None
    alipay_user_id: str | None = None  # an Alipay app still on user ids (2088…) instead of open ids
    roles: tuple[str, ...] = ("resident",)
    disabled: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Person:
        wechat, alipay = doc.get("wechat") or {}, doc.get("alipay") or {}
        cid = doc.get("citizen_id")
        return cls(
            id=doc["_id"],
            level=Level(doc.get("level", Level.L0)),
            name=doc.get("name"),
            phone_masked=(doc.get("phone") or {}).get("masked"),
            citizen_id=BoundId(
                masked=cid["masked"], region_code=cid["region_code"],
                birth_date=date.fromisoformat(cid["birth_date"]), gender=cid["gender"],
                verified_at=cid["verified_at"],
            ) if cid else None,
            unionid=wechat.get("unionid"),
            mp_openid=wechat.get("mp_openid"),
            oa_openid=wechat.get("oa_openid"),
            alipay_open_id=alipay.get("open_id"),
            alipay_user_id=alipay.get("user_id"),
            roles=tuple(doc.get("roles", ("resident",))),
            disabled=bool(doc.get("disabled", False)),
            created_at=doc["created_at"],
        )


@dataclass(frozen=True, slots=True)
class ContactPoints:
    """Where a person or staff member can be reached: WeChat openids and the phone (still a FieldCipher token,
    decrypted with `phone_context` only by the worker that sends the SMS)."""

    id: str
    disabled: bool = False
    mp_openid: str | None = None
    oa_openid: str | None = None
    phone_cipher: str | None = field(default=None, repr=False)
    phone_masked: str | None = None
    phone_context: str = PHONE_CONTEXT

    @classmethod
    def from_doc(cls, doc: dict[str, Any], phone_context: str) -> ContactPoints:
        wechat, phone = doc.get("wechat") or {}, doc.get("phone") or {}
        return cls(id=doc["_id"], disabled=bool(doc.get("disabled", False)), mp_openid=wechat.get("mp_openid"),
                   oa_openid=wechat.get("oa_openid"), phone_cipher=phone.get("cipher"),
                   phone_masked=phone.get("masked"), phone_context=phone_context)


CONTACT_PROJECTION = {"disabled": 1, "wechat.mp_openid": 1, "wechat.oa_openid": 1, "phone.cipher": 1,
                       "phone.masked": 1}


def _unique_when_present(path: str, name: str) -> IndexModel:
    return IndexModel([(path, 1)], unique=True, name=name, partialFilterExpression={path: {"$type": "string"}})


class PersonRepository(Repository):
    collection_name = "people"
    indexes = (
        _unique_when_present("wechat.unionid", "wechat_unionid_unique"),
        _unique_when_present("wechat.mp_openid", "wechat_mp_openid_unique"),
        _unique_when_present("wechat.oa_openid", "wechat_oa_openid_unique"),
        _unique_when_present("alipay.open_id", "alipay_open_id_unique"),
        _unique_when_present("alipay.user_id", "alipay_user_id_unique"),
        _unique_when_present("phone.index", "phone_index_unique"),
        _unique_when_present("citizen_id.index", "citizen_id_index_unique"),
    )

    async def get(self, person_id: str) -> Person | None:
        doc = await self.collection.find_one({"_id": person_id})
        return Person.from_doc(doc) if doc else None

    async def get_many(self, person_ids: list[str]) -> list[Person]:
        return [Person.from_doc(doc) for doc in (await self.by_ids(person_ids)).values()]

    async def find_by_citizen_index(self, index: str) -> Person | None:
        doc = await self.collection.find_one({"citizen_id.index": index})
        return Person.from_doc(doc) if doc else None

    async def find_by_phone_index(self, index: str) -> Person | None:
        doc = await self.collection.find_one({"phone.index": index})
        return Person.from_doc(doc) if doc else None

    async def upsert_wechat(self, *, app: str, openid: str, unionid: str | None) -> tuple[Person, bool]:
        """The person behind a WeChat identity, created on first sight. Returns (person, created).

        The unionid joins the mini-program and the official account: whichever app a person uses first, the
        other app's login finds the same document and records its openid on it.
        """
        openid_path = f"wechat.{app}_openid"
        clauses: list[dict[str, Any]] = [{openid_path: openid}]
        if unionid:
            clauses.insert(0, {"wechat.unionid": unionid})
        now = datetime.now(UTC)
        updates: dict[str, Any] = {openid_path: openid, "last_login_at": now}
        if unionid:
            updates["wechat.unionid"] = unionid
        for _ in range(3):  # a concurrent first login may win the insert: then we find its document
            doc = await self.collection.find_one_and_update(
                {"$or": clauses}, {"$set": updates}, return_document=ReturnDocument.AFTER
            )
            if doc:
                return Person.from_doc(doc), False
            fresh = {"_id": new_id(), "level": Level.L0.value, "roles": ["resident"], "created_at": now,
                     "wechat": {k.split(".", 1)[1]: v for k, v in updates.items() if k.startswith("wechat.")},
                     "last_login_at": now}
            try:
                await self.collection.insert_one(fresh)
                return Person.from_doc(fresh), True
            except DuplicateKeyError:
                continue
        raise RuntimeError("could not create or find the person for a WeChat identity")

    async def link_alipay(self, person_id: str, *, open_id: str | None, user_id: str | None) -> Person:
        """Keep the Alipay identity Alipay vouched for (replacing an earlier one). DuplicateKeyError when another
        person holds it (the unique indexes), LookupError when the person does not exist."""
        linked = {k: v for k, v in (("open_id", open_id), ("user_id", user_id)) if v}
        doc = await self.collection.find_one_and_update(
            {"_id": person_id}, {"$set": {"alipay": {**linked, "linked_at": datetime.now(UTC)}}},
            return_document=ReturnDocument.AFTER)
        if doc is None:
            raise LookupError("person missing")
        return Person.from_doc(doc)

    async def unlink_alipay(self, person_id: str) -> Person | None:
        doc = await self.collection.find_one_and_update(
            {"_id": person_id}, {"$unset": {"alipay": ""}}, return_document=ReturnDocument.AFTER)
        return Person.from_doc(doc) if doc else None

    async def find_by_alipay(self, *, open_id: str | None, user_id: str | None) -> Person | None:
        clauses = [{f"alipay.{k}": v} for k, v in (("open_id", open_id), ("user_id", user_id)) if v]
        doc = await self.collection.find_one({"$or": clauses}) if clauses else None
        return Person.from_doc(doc) if doc else None

    async def set_citizen_id(
        self, person_id: str, *, name: str, encrypted: str, index: str, masked: str, region_code: str,
        birth_date: date, gender: str,
    ) -> Person:
        """Record a verified binding. The unique blind index makes 'one number, one person' a database rule;
        a concurrent second binding of the same number raises DuplicateKeyError."""
        doc = await self.collection.find_one_and_update(
            {"_id": person_id, "citizen_id": {"$exists": False}},
            {"$set": {
                "name": name,
                "level": Level.L2.value,
                "citizen_id": {
                    "cipher": encrypted, "index": index, "masked": masked, "region_code": region_code,
                    "birth_date": birth_date.isoformat(), "gender": gender, "verified_at": datetime.now(UTC),
                },
            }},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise LookupError("person missing or already bound")
        return Person.from_doc(doc)

    async def citizen_index_of(self, person_id: str) -> str | None:
        doc = await self.collection.find_one({"_id": person_id}, {"citizen_id.index": 1})
        return ((doc or {}).get("citizen_id") or {}).get("index")

    async def add_role(self, person_id: str, role: str, *, session: AsyncClientSession | None = None) -> None:
        """Give a person role (e.g. `parent` on the first link to a child: payments/guardians.py); idempotent."""
        await self.collection.update_one({"_id": person_id}, {"$addToSet": {"roles": role}}, session=session)

    async def remove_role(self, person_id: str, role: str, *, session: AsyncClientSession | None = None) -> None:
        await self.collection.update_one({"_id": person_id}, {"$pull": {"roles": role}}, session=session)

    # -- phone (accounts/phone_accounts.py encrypts, indexes and masks; these only store) ------------------------
    async def upsert_phone(self, *, encrypted: str, index: str, masked: str) -> tuple[Person, bool]:
        """The person who proved this phone, created at L1 on first sight (SMS login). Returns (person, created).

        Found only by the phone's blind index: a WeChat-only (L0) account is never merged in by phone here;
        its owner attaches a phone with `set_phone` after proving it.
        """
        now = datetime.now(UTC)
        for _ in range(3):  # a concurrent first login may win the insert: then we find its document
            doc = await self.collection.find_one_and_update(
                {"phone.index": index}, {"$set": {"last_login_at": now}}, return_document=ReturnDocument.AFTER
            )
            if doc:
                return Person.from_doc(doc), False
            fresh = {"_id": new_id(), "level": Level.L1.value, "roles": ["resident"], "created_at": now,
                     "phone": _phone_doc(encrypted, index, masked, now), "last_login_at": now}
            try:
                await self.collection.insert_one(fresh)
                return Person.from_doc(fresh), True
            except DuplicateKeyError:
                continue
        raise RuntimeError("could not create or find the person for a phone number")

    async def set_phone(self, person_id: str, *, encrypted: str, index: str, masked: str) -> Person:
        """Attach a just-verified phone (replacing an earlier one) and raise the level to at least L1.

        The unique blind index makes 'one number, one person' a database rule: DuplicateKeyError when another
        person holds it. LookupError when the person does not exist.
        """
        doc = await self.collection.find_one_and_update(
            {"_id": person_id},
            # Level values sort as strings (L0 < L1 < L2), so $max raises L0 to L1 and never lowers L2.
            {"$set": {"phone": _phone_doc(encrypted, index, masked, datetime.now(UTC))},
             "$max": {"level": Level.L1.value}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise LookupError("person missing")
        return Person.from_doc(doc)

    async def phone_index_of(self, person_id: str) -> str | None:
        doc = await self.collection.find_one({"_id": person_id}, {"phone.index": 1})
        return ((doc or {}).get("phone") or {}).get("index")

    async def contact_points(self, person_ids: list[str]) -> dict[str, ContactPoints]:
        """How each person can be reached (notifications/recipients.py), in one query; missing ids are absent."""
        cursor = self.collection.find({"_id": {"$in": person_ids}}, CONTACT_PROJECTION)
        return {doc["_id"]: ContactPoints.from_doc(doc, PHONE_CONTEXT) async for doc in cursor}


def _phone_doc(encrypted: str, index: str, masked: str, verified_at: datetime) -> dict[str, Any]:
    return {"cipher": encrypted, "index": index, "masked": masked, "verified_at": verified_at}


async def sealed_identity(people: PersonRepository, person_id: str) -> dict[str, Any] | None:
    """Name and the encrypted ID and phone numbers of a person, for forms filled from the verified profile
    (免填写). None when the person does not exist; missing parts are simply absent."""
    doc = await people.collection.find_one({"_id": person_id}, {"name": 1, "citizen_id": 1, "phone": 1})
    if doc is None:
        return None
    cid, phone = doc.get("citizen_id") or {}, doc.get("phone") or {}
    return {"name": doc.get("name"), "id_cipher": cid.get("cipher"), "id_masked": cid.get("masked"),
            "phone_cipher": phone.get("cipher"), "phone_masked": phone.get("masked")}
