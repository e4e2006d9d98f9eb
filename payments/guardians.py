"""Parent–child linking (精准关联): a resident proves they are a guardian of a child on a school's roster.

The proof has two parts. First the child: name and citizen ID number as the school registered them (the number
is looked up by its blind index in the roster's own domain, the name compared after normalisation). Then the
guardianship, either of:
- phone: the resident's own verified phone (accounts/people.py, decrypted here only to compute its index in the
  roster's domain) is one of the child's guardian phones on the roster; or
- link code: a one-time code the school issued for this child (payments/link_codes.py), consumed by the link.

Every attempt is counted first (payments/link_limits.py), and every failure gets the same answer (422
GUARDIAN_LINK_NOT_MATCHED), whatever part did not match; the log says which, for support. A child has at most
two guardians (a condition of the database write, not only a check). Linking gives the person the `parent` role
and, in the same transaction, records a `bill.published` event for each of the child's unpaid bills, so a
guardian who links after the bills were made is told about them as well as seeing them.

A parent sees the bills of their linked children only: a bill's owners are the student's guardians now
(payments/bills.py `bill_resource`), so unlinking takes effect at once. Anything else is 404, like a missing
record (accounts/scopes.py policy for residents).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from accounts import errors as AE
from accounts.citizen_id import CitizenIdInvalid, citizen_id_app_error, parse_citizen_id
from accounts.people import PHONE_CONTEXT, PersonRepository, sealed_identity
from accounts.roles import Role
from accounts.scopes import Action, Actor, Kind, Resource, authorize
from affairs.audit import AuditRepository
from affairs.case_repository import Transactions
from core.clock import bson_time
from core.errors import AppError
from core.ids import new_id
from core.outbox import OutboxRepository
from core.pii import BlindIndex, FieldCipher
from payments import fee_errors as FE
from payments.bill_generation import published_event
from payments.bills import BillRepository
from payments.link_codes import LinkCodeRepository, LinkCodes
from payments.link_limits import LinkAttempts
from payments.students import ID_CONTEXT, MAX_GUARDIANS, StudentRepository, guardian_phone_index, name_key

log = structlog.get_logger(__name__)


class StaleStudent(Exception):
    """The student's links changed between our read and our write: the transaction runs again."""


def child_resource(student: dict[str, Any]) -> Resource:
    """A child (and what hangs off it: bills) as a resident sees it: owned by its linked guardians."""
    return Resource(kind=Kind.FEE, id=student["_id"], owner_person_ids=tuple(student.get("guardian_person_ids", ())),
                    department_ids=(student["school_id"],))


@dataclass
class GuardianLinks:
    students: StudentRepository
    bills: BillRepository
    people: PersonRepository
    codes: LinkCodeRepository
    link_codes: LinkCodes
    attempts: LinkAttempts
    audit: AuditRepository
    outbox: OutboxRepository
    tx: Transactions  # retry_on StaleStudent
    cipher: FieldCipher
    index: BlindIndex

    async def link(self, person_id: str, *, name: str, id_number: str, code: str | None = None) -> dict[str, Any]:
        """Link the person to the child (idempotent for an existing link); the linked student."""
        await self.attempts.count_person(person_id)
        try:
            number = parse_citizen_id(id_number).number
        except CitizenIdInvalid as exc:
            raise citizen_id_app_error(exc) from None
        id_index = self.index.id_number(number, domain=ID_CONTEXT)
        await self.attempts.count_child(id_index)
        candidates = [s for s in await self.students.with_id_index(id_index) if s["name_key"] == name_key(name)]
        digest: str | None = None
        if not candidates:
            matched: list[dict[str, Any]] = []
            reason = "no_roster_match"
        elif code is None:
            phone_index = await self._phone_index(person_id)
            matched = [s for s in candidates if phone_index in {p["index"] for p in s.get("guardian_phones", [])}]
            reason = "no_verified_phone" if phone_index is None else "phone_not_on_roster"
        else:
            digest = self.link_codes.digest(code)
            live = await self.codes.live(digest, bson_time())
            matched = [s for s in candidates if live is not None and live["student_id"] == s["_id"]]
            reason = "link_code_not_valid"
        if not matched:
            log.info("guardian_link_refused", person_id=person_id, reason=reason)
            raise AppError(FE.GUARDIAN_LINK_NOT_MATCHED)
        via = "phone" if digest is None else "code"
        linked, refusal = [], None
        for student in matched:
            try:
                linked.append(await self.tx.run(
                    lambda session, sid=student["_id"]: self._link_one(person_id, sid, via, digest, session)))
            except AppError as exc:
                refusal = exc
        if not linked:
            assert refusal is not None
            raise refusal
        return linked[0]

    async def _link_one(self, person_id: str, student_id: str, via: str, digest: str | None,
                        session: AsyncClientSession) -> dict[str, Any]:
        student = await self.students.get(student_id, session=session)
        if student is None:
            raise AppError(FE.GUARDIAN_LINK_NOT_MATCHED)
        if person_id in student["guardian_person_ids"]:
            return student  # linked already: a retried request
        if len(student["guardian_person_ids"]) >= MAX_GUARDIANS:
            log.info("guardian_link_refused", person_id=person_id, reason="guardians_full", student_id=student_id)
            raise AppError(FE.GUARDIANS_FULL)
        now = bson_time()
        if digest is not None and not await self.codes.consume(digest, student_id, person_id, now, session=session):
            raise AppError(FE.GUARDIAN_LINK_NOT_MATCHED)  # used by someone else a moment ago
        link = {"person_id": person_id, "link_id": new_id(), "via": via, "linked_at": now}
        updated = await self.students.add_guardian(student_id, student["version"], link, session=session)
        if updated is None:
            raise StaleStudent(student_id)
        await self.people.add_role(person_id, Role.PARENT.value, session=session)
        for bill in await self.bills.unpaid_of_student(student_id, session=session):
            await self.outbox.add(published_event(bill, [person_id], f"bill:{bill['_id']}:link:{link['link_id']}"),
                                  session=session, now=now)
        await self.audit.append(actor=f"person:{person_id}", actor_department=None, action="guardian.link",
                                kind="student", key=student_id,
                                before={"guardians": len(student["guardian_person_ids"])},
                                after={"guardians": len(updated["guardian_person_ids"])},
                                detail={"via": via, "person_id": person_id, "revision": updated["version"]},
                                session=session)
        log.info("guardian_linked", person_id=person_id, student_id=student_id, via=via)
        return updated

    async def unlink(self, person_id: str, student_id: str) -> None:
        async def work(session: AsyncClientSession) -> None:
            updated = await self.students.remove_guardian(student_id, person_id, session=session)
            if updated is None:
                raise AppError(AE.RESOURCE_NOT_FOUND)
            if await self.students.count_of_guardian(person_id, session=session) == 0:
                await self.people.remove_role(person_id, Role.PARENT.value, session=session)
            await self.audit.append(actor=f"person:{person_id}", actor_department=None, action="guardian.unlink",
                                    kind="student", key=student_id, before=None,
                                    after={"guardians": len(updated["guardian_person_ids"])},
                                    detail={"person_id": person_id, "revision": updated["version"]}, session=session)

        await self.tx.run(work)
        log.info("guardian_unlinked", person_id=person_id, student_id=student_id)

    async def children(self, person_id: str) -> list[dict[str, Any]]:
        return await self.students.of_guardian(person_id)

    async def child(self, actor: Actor, student_id: str) -> dict[str, Any]:
        """The child if the actor is one of its guardians; 404 otherwise (existence is not revealed)."""
        student = await self.students.get(student_id)
        if student is None:
            raise AppError(AE.RESOURCE_NOT_FOUND)
        authorize(actor, Action.READ, child_resource(student))
        return student

    async def child_bills(self, actor: Actor, student_id: str) -> list[dict[str, Any]]:
        await self.child(actor, student_id)
        return await self.bills.of_student(student_id)

    async def _phone_index(self, person_id: str) -> str | None:
        """The person's verified phone as an index of the roster's guardian-phone domain, or None."""
        sealed = await sealed_identity(self.people, person_id)
        token = (sealed or {}).get("phone_cipher")
        if not token:
            return None
        return guardian_phone_index(self.cipher.decrypt(token, context=PHONE_CONTEXT), self.index)
