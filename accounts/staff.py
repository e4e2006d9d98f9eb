"""Staff accounts: the `staff_accounts` collection and its repository.

Staff never sign themselves up: an administrator creates the account (accounts/staff_admin.py) with a username,
an initial password (argon2id hash only), a mobile for the SMS second factor, a department and a region. The
mobile is stored like a resident's (accounts/people.py): a `FieldCipher` token bound to the context
`staff.phone`, a blind index in its own domain (so it cannot be joined with `people.phone`) and a masked copy.

The username is unique (case-insensitive: stored lower-cased); a staff account may be linked to the person
who holds it (`person_id`, unique when present) and later bound to WeChat (`wechat.mp_openid` / `oa_openid`
and `wechat.unionid`, each unique when present) so staff can sign in with WeChat (accounts/staff_wechat.py).
Failed password attempts are counted on the document and lock the account for a while (accounts/staff_login.py
decides when). `version` increases on every
administrative change so concurrent edits by two admins cannot silently overwrite each other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument

from accounts.people import CONTACT_PROJECTION, ContactPoints
from accounts.phone import CnMobile
from accounts.regions import region_prefix
from accounts.scopes import Actor, Kind, Resource, Visibility
from core.ids import new_id
from core.mongo import Repository
from core.pii import BlindIndex, FieldCipher
from core.record_cache import RecordCache

PHONE_CONTEXT = "staff.phone"
USERNAME_RE = re.compile(r"[a-z][a-z0-9._-]{2,31}")
USERNAME_RULE = "用户名须以字母开头，由 3–32 位字母、数字、点、下划线或连字符组成"


def normalise_username(raw: str) -> str:
    """`  Liu.JianGuo ` → `liu.jianguo` (NFKC for full-width letters typed with a Chinese input method)."""
    return unicodedata.normalize("NFKC", raw).strip().lower()


def protect_phone(mobile: CnMobile, cipher: FieldCipher, index: BlindIndex) -> dict[str, str]:
    """What is stored for a staff mobile: ciphertext, blind index and masked copy, never the number."""
    return {"cipher": cipher.encrypt(mobile.e164, context=PHONE_CONTEXT),
            "index": index.phone(mobile.e164, domain=PHONE_CONTEXT), "masked": mobile.masked}


@dataclass(frozen=True, slots=True)
class NewStaff:
    username: str
    display_name: str
    mobile: CnMobile
    department_id: str
    department_name: str
    region_code: str
    level: str
    roles: tuple[str, ...]
    person_id: str | None = None


@dataclass(frozen=True)
class StaffAccount:
    id: str
    username: str
    display_name: str
    phone_masked: str
    department_id: str
    department_name: str
    region_code: str
    level: str
    roles: tuple[str, ...]
    disabled: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 0
    person_id: str | None = None
    wechat_bound: bool = False
    must_change_password: bool = False
    last_login_at: datetime | None = None
    locked_until: datetime | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> StaffAccount:
        department, wechat = doc["department"], doc.get("wechat") or {}
        return cls(
            id=doc["_id"], username=doc["username"], display_name=doc["display_name"],
            phone_masked=doc["phone"]["masked"], department_id=department["id"], department_name=department["name"],
            region_code=doc["region_code"], level=doc["level"], roles=tuple(doc["roles"]),
            disabled=bool(doc.get("disabled")), created_by=doc.get("created_by"), created_at=doc["created_at"],
            updated_at=doc["updated_at"], version=int(doc.get("version", 0)), person_id=doc.get("person_id"),
            wechat_bound=bool(wechat.get("mp_openid") or wechat.get("oa_openid")),
            must_change_password=bool((doc.get("password") or {}).get("must_change")),
            last_login_at=doc.get("last_login_at"), locked_until=doc.get("locked_until"),
        )

    def actor(self) -> Actor:
        return Actor(roles=frozenset(self.roles), staff_id=self.id, department_id=self.department_id,
                     region_code=self.region_code, level=self.level)

    def resource(self, *, also_roles: tuple[str, ...] = ()) -> Resource:
        """This account as the object of a scope check; `also_roles` are roles about to be given to it."""
        return Resource(kind=Kind.STAFF_ACCOUNT, id=self.id, department_ids=(self.department_id,),
                        region_code=self.region_code, roles=frozenset(self.roles) | frozenset(also_roles))


@dataclass(frozen=True)
class StaffCredentials:
    """What a password login needs; the hash stays out of reprs and logs."""

    account: StaffAccount
    password_hash: str = field(repr=False)
    failed_logins: int = 0
    locked_until: datetime | None = None


def _unique_when_present(path: str, name: str) -> IndexModel:
    return IndexModel([(path, 1)], unique=True, name=name, partialFilterExpression={path: {"$type": "string"}})


# What StaffAccount.from_doc reads, and nothing secret: this is also what the account cache keeps in Redis.
ACCOUNT_FIELDS = {"password.hash": 0, "phone.cipher": 0, "phone.index": 0}


class StaffRepository(Repository):
    """Staff accounts. `get` — the account behind every staff request — is answered from a RecordCache when one
    is given (config.wiring); every write here forgets the account it changed, after the write."""

    collection_name = "staff_accounts"
    indexes = (
        IndexModel([("username", ASCENDING)], unique=True, name="username_unique"),
        _unique_when_present("person_id", "person_id_unique"),
        _unique_when_present("wechat.mp_openid", "wechat_mp_openid_unique"),
        _unique_when_present("wechat.oa_openid", "wechat_oa_openid_unique"),
        _unique_when_present("wechat.unionid", "wechat_unionid_unique"),
        IndexModel([("phone.index", ASCENDING)], name="phone_index"),
        IndexModel([("department.id", ASCENDING), ("region_prefix", ASCENDING)], name="department_region"),
        IndexModel([("region_prefix", ASCENDING)], name="region_prefix"),
    )

    async def insert(self, new: NewStaff, *, password_hash: str, phone: dict[str, str], created_by: str | None,
                     must_change_password: bool = True) -> StaffAccount:
        """Raises DuplicateKeyError for a taken username (or person link); the caller maps it to 409."""
        now = datetime.now(UTC)
        doc: dict[str, Any] = {
            "_id": new_id(), "username": normalise_username(new.username), "display_name": new.display_name,
            "phone": phone, "department": {"id": new.department_id, "name": new.department_name},
            "region_code": new.region_code, "region_prefix": region_prefix(new.region_code), "level": new.level,
            "roles": sorted(set(new.roles)), "disabled": False,
            "password": {"hash": password_hash, "set_at": now, "must_change": must_change_password},
            "failed_logins": 0, "locked_until": None, "created_by": created_by, "created_at": now,
            "updated_at": now, "last_login_at": None, "version": 0,
        }
        if new.person_id:
            doc["person_id"] = new.person_id
        await self.collection.insert_one(doc)
        return StaffAccount.from_doc(doc)

    def __init__(self, db: Any, accounts: RecordCache | None = None) -> None:
        super().__init__(db)
        self.accounts = accounts

    async def _changed(self, staff_id: str) -> None:
        if self.accounts is not None:
            await self.accounts.forget([staff_id])

    async def get(self, staff_id: str) -> StaffAccount | None:
        def load() -> Awaitable[dict[str, Any] | None]:
            return self.collection.find_one({"_id": staff_id}, ACCOUNT_FIELDS)

        doc = await (self.accounts.fetch(staff_id, load) if self.accounts is not None else load())
        return StaffAccount.from_doc(doc) if doc is not None else None

    async def find_by_username(self, username: str) -> StaffAccount | None:
        doc = await self.collection.find_one({"username": normalise_username(username)})
        return StaffAccount.from_doc(doc) if doc else None

    async def credentials(self, username: str) -> StaffCredentials | None:
        doc = await self.collection.find_one({"username": normalise_username(username)})
        if doc is None:
            return None
        return StaffCredentials(StaffAccount.from_doc(doc), doc["password"]["hash"],
                                int(doc.get("failed_logins", 0)), doc.get("locked_until"))

    async def contact_points(self, staff_ids: list[str]) -> dict[str, ContactPoints]:
        """How each staff member can be reached (notifications/recipients.py), in one query."""
        cursor = self.collection.find({"_id": {"$in": staff_ids}}, CONTACT_PROJECTION)
        return {doc["_id"]: ContactPoints.from_doc(doc, PHONE_CONTEXT) async for doc in cursor}

    async def ids_with_role(self, role: str, *, region_prefixes: list[str] | None = None,
                            department_id: str | None = None) -> list[str]:
        """Enabled staff holding `role` (of that department, whose region prefix is one of `region_prefixes`):
        who a notification to "the department's staff" or "the region's supervisors" goes to."""
        query: dict[str, Any] = {"roles": role, "disabled": False}
        if department_id is not None:
            query["department.id"] = department_id
        if region_prefixes is not None:
            query["region_prefix"] = {"$in": region_prefixes}
        return [doc["_id"] async for doc in self.collection.find(query, {"_id": 1}).sort("_id", ASCENDING)]

    async def phone_cipher(self, staff_id: str) -> str | None:
        doc = await self.collection.find_one({"_id": staff_id}, {"phone.cipher": 1})
        return ((doc or {}).get("phone") or {}).get("cipher")

    async def record_failed_login(self, staff_id: str, *, lock_after: int, lock_until: datetime) -> bool:
        """Count a wrong password; at `lock_after` failures lock the account until `lock_until` and start the
        count again. True when this failure locked it."""
        doc = await self.collection.find_one_and_update(
            {"_id": staff_id}, {"$inc": {"failed_logins": 1}}, return_document=ReturnDocument.AFTER,
        )
        if doc is None or doc["failed_logins"] < lock_after:
            return False
        locked = await self.collection.update_one(
            {"_id": staff_id, "failed_logins": {"$gte": lock_after}},
            {"$set": {"failed_logins": 0, "locked_until": lock_until}},
        )
        await self._changed(staff_id)
        return locked.modified_count == 1

    async def record_password_login(self, staff_id: str, *, rehashed: str | None = None) -> None:
        """A correct password: the failure count starts again; a hash made with old parameters is replaced."""
        updates: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if rehashed:
            updates["password.hash"] = rehashed
        await self.collection.update_one({"_id": staff_id}, {"$set": updates})
        await self._changed(staff_id)

    async def record_login(self, staff_id: str) -> None:
        await self.collection.update_one({"_id": staff_id}, {"$set": {"last_login_at": datetime.now(UTC)}})
        await self._changed(staff_id)

    async def set_disabled(self, staff_id: str, *, by: str) -> StaffAccount | None:
        """Disable an enabled account; None when it was already disabled (or is missing): nothing changed."""
        now = datetime.now(UTC)
        doc = await self.collection.find_one_and_update(
            {"_id": staff_id, "disabled": False},
            {"$set": {"disabled": True, "disabled_at": now, "disabled_by": by, "updated_at": now},
             "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )
        await self._changed(staff_id)
        return StaffAccount.from_doc(doc) if doc else None

    async def set_roles(self, staff_id: str, roles: tuple[str, ...], *, expected_version: int) -> StaffAccount | None:
        """Replace the roles if nobody changed the account since it was read; None on a concurrent change."""
        doc = await self.collection.find_one_and_update(
            {"_id": staff_id, "version": expected_version},
            {"$set": {"roles": sorted(set(roles)), "updated_at": datetime.now(UTC)}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )
        await self._changed(staff_id)
        return StaffAccount.from_doc(doc) if doc else None

    async def bind_wechat(self, staff_id: str, *, app: str, openid: str, unionid: str | None = None) -> str:
        """Record the WeChat openid (`app` is `mp` or `oa`, with the unionid when WeChat gave one) a staff member
        may later sign in with. Returns `bound`; `same` when the account already has this openid (a retry),
        `other` when it has another one (unbind first: a binding is never silently replaced). A second account
        binding the same openid or unionid raises DuplicateKeyError."""
        if app not in ("mp", "oa"):
            raise ValueError("app must be 'mp' or 'oa'")
        path, now = f"wechat.{app}_openid", datetime.now(UTC)
        fields: dict[str, Any] = {path: openid, f"wechat.{app}_bound_at": now, "updated_at": now}
        if unionid:
            fields["wechat.unionid"] = unionid
        result = await self.collection.update_one({"_id": staff_id, path: {"$exists": False}}, {"$set": fields})
        if result.modified_count == 1:
            await self._changed(staff_id)
            return "bound"
        doc = await self.collection.find_one({"_id": staff_id}, {"wechat": 1})
        return "same" if ((doc or {}).get("wechat") or {}).get(f"{app}_openid") == openid else "other"

    async def unbind_wechat(self, staff_id: str) -> bool:
        """Forget every WeChat identity of the account; False when it had none (nothing changed)."""
        result = await self.collection.update_one(
            {"_id": staff_id, "wechat": {"$exists": True}},
            {"$unset": {"wechat": ""}, "$set": {"updated_at": datetime.now(UTC)}},
        )
        await self._changed(staff_id)
        return result.modified_count == 1

    async def password_hash(self, staff_id: str) -> str | None:
        doc = await self.collection.find_one({"_id": staff_id}, {"password.hash": 1})
        return ((doc or {}).get("password") or {}).get("hash")

    async def set_password(self, staff_id: str, *, new_hash: str, expected_hash: str) -> bool:
        """Replace the password if it is still the one just verified (False: changed concurrently), clear
        the forced-change flag and the failure count."""
        result = await self.collection.update_one(
            {"_id": staff_id, "password.hash": expected_hash},
            {"$set": {"password": {"hash": new_hash, "set_at": datetime.now(UTC), "must_change": False},
                      "failed_logins": 0, "locked_until": None, "updated_at": datetime.now(UTC)}},
        )
        await self._changed(staff_id)
        return result.modified_count == 1

    async def find_by_openid(self, *, app: str, openid: str) -> StaffAccount | None:
        if app not in ("mp", "oa"):
            raise ValueError("app must be 'mp' or 'oa'")
        doc = await self.collection.find_one({f"wechat.{app}_openid": openid})
        return StaffAccount.from_doc(doc) if doc else None

    async def list_visible(self, scope: Visibility, *, after: str | None = None, limit: int = 50) -> list[StaffAccount]:
        """Accounts inside `scope` (department and region subtree; None = any), in creation order, paged by id."""
        query: dict[str, Any] = {}
        if scope.department_id is not None:
            query["department.id"] = scope.department_id
        if scope.region_code is not None:  # prefixes are digit strings: safe inside the regular expression
            query["region_prefix"] = {"$regex": "^" + region_prefix(scope.region_code)}
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [StaffAccount.from_doc(doc) async for doc in cursor]
