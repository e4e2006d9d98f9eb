"""Phone numbers on accounts: find or create the person behind a proven phone (SMS login), and attach a proven
phone to the signed-in person ("verify my phone").

Both run only after `SmsCodes.verify` succeeded. The number is stored encrypted, found by its blind index and
shown masked (people.py). One number belongs to one person: attaching a number someone else holds is a 409,
and that person is told through an account event (a recycled number, or someone else's SIM).
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from pymongo.errors import DuplicateKeyError

from accounts import errors as E
from accounts.events import AccountEventRepository
from accounts.people import PHONE_CONTEXT, Person, PersonRepository
from core.errors import AppError
from core.masking import mask_phone
from core.pii import BlindIndex, FieldCipher

log = structlog.get_logger(__name__)


@dataclass
class PhoneAccounts:
    people: PersonRepository
    events: AccountEventRepository
    cipher: FieldCipher
    index: BlindIndex

    async def find_or_create(self, phone_e164: str) -> tuple[Person, bool]:
        return await self.people.upsert_phone(
            encrypted=self.cipher.encrypt(phone_e164, context=PHONE_CONTEXT), index=self.index.phone(phone_e164),
            masked=mask_phone(phone_e164),
        )

    async def attach(self, person_id: str, phone_e164: str) -> Person:
        blind, masked = self.index.phone(phone_e164), mask_phone(phone_e164)
        if await self.people.phone_index_of(person_id) == blind:
            current = await self.people.get(person_id)
            if current is not None:
                return current  # the same number again: already done (a retried request)
        owner = await self.people.find_by_phone_index(blind)
        if owner is not None and owner.id != person_id:
            await self._report_taken(owner.id, attempted_by=person_id, masked=masked)
            raise AppError(E.PHONE_TAKEN)
        try:
            person = await self.people.set_phone(
                person_id, encrypted=self.cipher.encrypt(phone_e164, context=PHONE_CONTEXT), index=blind,
                masked=masked,
            )
        except DuplicateKeyError:  # another account took the number a moment ago
            owner = await self.people.find_by_phone_index(blind)
            if owner is not None and owner.id != person_id:
                await self._report_taken(owner.id, attempted_by=person_id, masked=masked)
            raise AppError(E.PHONE_TAKEN) from None
        except LookupError:
            raise AppError(E.ACCOUNT_DISABLED) from None
        await self.events.record(person_id, "phone_verified", {"masked": masked})
        log.info("phone_verified", person_id=person_id, phone=masked)
        return person

    async def _report_taken(self, owner_id: str, *, attempted_by: str, masked: str) -> None:
        await self.events.record(owner_id, "phone_bind_attempt_by_other",
                                 {"masked": masked, "other_person_id": attempted_by})
        log.warning("phone_taken", owner_id=owner_id, attempted_by=attempted_by)
