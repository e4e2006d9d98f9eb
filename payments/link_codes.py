"""School-issued one-time link codes (关联码): the way to link a child when the parent's phone is not on the roster.

The school's finance staff issue a code for one student and hand it to the family (on paper, in class). The
code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), about 40 bits: with the per-person
and per-child attempt limits (payments/link_limits.py), guessing is hopeless, and the code only works together
with the child's name and ID number. Only a keyed digest of the code is stored (the blind index, in its own
domain), so the collection does not reveal live codes. A new code for a student revokes the older unused ones;
a code is consumed in the transaction that makes the link (single use), and expires after CODE_TTL.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from accounts.scopes import Action, Actor
from affairs.audit import AuditRepository
from core.clock import bson_time
from core.errors import AppError
from core.mongo import Repository
from core.pii import BlindIndex
from payments import fee_errors as FE
from payments.schools import Schools
from payments.students import StudentRepository

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = timedelta(days=14)
CODE_DOMAIN = "student.link_code"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """`abcd-2345`, `ＡＢＣＤ 2345` → `ABCD2345` (full-width from a Chinese IME, any dashes and spaces)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", raw).upper() if ch not in "- ")


def shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


class LinkCodeRepository(Repository):
    collection_name = "guardian_link_codes"
    indexes = (
        IndexModel([("student_id", ASCENDING)], name="student"),
        IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=30 * 86400),
    )

    async def replace_for(self, doc: dict[str, Any], now: datetime) -> None:
        """Store a new code for the student, revoking every unused older one."""
        await self.collection.update_many({"student_id": doc["student_id"], "used_at": None,
                                           "expires_at": {"$gt": now}}, {"$set": {"expires_at": now, "revoked": True}})
        await self.collection.insert_one(doc)

    async def live(self, digest: str, now: datetime) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": digest, "used_at": None, "expires_at": {"$gt": now}})

    async def consume(self, digest: str, student_id: str, person_id: str, now: datetime, *,
                      session: AsyncClientSession) -> bool:
        """Use the code for this student, once; False when it is used, expired, revoked or another student's."""
        result = await self.collection.update_one(
            {"_id": digest, "student_id": student_id, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now, "used_by": person_id}}, session=session)
        return result.modified_count == 1


@dataclass
class LinkCodes:
    codes: LinkCodeRepository
    schools: Schools
    students: StudentRepository
    index: BlindIndex
    audit: AuditRepository

    def digest(self, code: str) -> str:
        return self.index.compute(normalise_code(code), domain=CODE_DOMAIN)

    async def issue(self, actor: Actor, school_id: str, student_id: str) -> tuple[str, datetime]:
        """A fresh code for the student (the school's finance staff only); shown once, never stored in clear."""
        await self.schools.get(actor, school_id, Action.ACT)
        student = await self.students.get(student_id)
        if student is None or student["school_id"] != school_id:
            raise AppError(FE.STUDENT_NOT_FOUND)
        code, now = new_code(), bson_time()
        expires_at = now + CODE_TTL
        await self.codes.replace_for({"_id": self.digest(code), "student_id": student_id, "school_id": school_id,
                                      "issued_by": actor.staff_id, "issued_at": now, "expires_at": expires_at,
                                      "used_at": None, "used_by": None}, now)
        await self.audit.append(actor=actor.staff_id or "system:school-fees", actor_department=actor.department_id,
                                action="student.link_code_issued", kind="student", key=student_id, before=None,
                                after={"expires_at": expires_at.isoformat()}, detail={"school_id": school_id})
        return shown(code), expires_at
