"""Citizen-ID binding (实名认证): one number, checked, verified against the population base, bound to one person.

Order of checks, cheapest and least revealing first: the number's own rules (422 saying which rule failed), the
per-person attempt limit (so the endpoint cannot be used to test name/number pairs), whether the number is already
someone else's (409; the owner is told through an account event), then the population base. Only a MATCH binds;
an unavailable population base never counts as a match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis
import structlog
from pymongo.errors import DuplicateKeyError

from accounts import errors as E
from accounts.citizen_id import CitizenIdInvalid, citizen_id_app_error, parse_citizen_id
from accounts.events import AccountEventRepository
from accounts.people import ID_CONTEXT, Person, PersonRepository
from core.errors import AppError
from core.masking import mask_id_number
from core.pii import BlindIndex, FieldCipher
from population import PopulationClient, PopulationUnavailable, VerifyResult

log = structlog.get_logger(__name__)

ATTEMPTS_PER_DAY = 5


@dataclass
class CitizenIdBinding:
    people: PersonRepository
    events: AccountEventRepository
    population: PopulationClient
    cipher: FieldCipher
    index: BlindIndex
    redis: aioredis.Redis

    async def bind(self, person: Person, *, name: str, raw_number: str) -> Person:
        try:
            parsed = parse_citizen_id(raw_number)
        except CitizenIdInvalid as exc:
            raise citizen_id_app_error(exc) from None
        name = name.strip()
        blind = self.index.id_number(parsed.number)

        if person.citizen_id is not None:
            if await self.people.citizen_index_of(person.id) == blind:
                return person  # the same number again: already done (a retried request)
            raise AppError(E.CITIZEN_ID_ALREADY_BOUND)

        await self._count_attempt(person.id)
        owner = await self.people.find_by_citizen_index(blind)
        if owner is not None:
            await self._report_taken(owner, attempted_by=person, masked=parsed.masked)
            raise AppError(E.CITIZEN_ID_TAKEN)

        try:
            result = await self.population.verify(name, parsed.number)
        except PopulationUnavailable as exc:
            log.warning("population_unavailable", reason=exc.reason, person_id=person.id)
            raise AppError(E.POPULATION_UNAVAILABLE) from None
        if result is VerifyResult.MISMATCH:
            raise AppError(E.CITIZEN_ID_NAME_MISMATCH)
        if result is VerifyResult.NOT_FOUND:
            raise AppError(E.CITIZEN_ID_NOT_FOUND)

        try:
            bound = await self.people.set_citizen_id(
                person.id, name=name, encrypted=self.cipher.encrypt(parsed.number, context=ID_CONTEXT),
                index=blind, masked=parsed.masked, region_code=parsed.region_code,
                birth_date=parsed.birth_date, gender=parsed.gender,
            )
        except DuplicateKeyError:  # another account bound the same number a moment ago
            owner = await self.people.find_by_citizen_index(blind)
            if owner is not None and owner.id != person.id:
                await self._report_taken(owner, attempted_by=person, masked=parsed.masked)
            raise AppError(E.CITIZEN_ID_TAKEN) from None
        except LookupError:  # this account bound a number concurrently (double tap): report what is there now
            current = await self.people.get(person.id)
            if current and await self.people.citizen_index_of(person.id) == blind:
                return current
            raise AppError(E.CITIZEN_ID_ALREADY_BOUND) from None
        await self.events.record(person.id, "citizen_id_bound", {"masked": parsed.masked})
        log.info("citizen_id_bound", person_id=person.id, masked=mask_id_number(parsed.number))
        return bound

    async def _count_attempt(self, person_id: str) -> None:
        """At most ATTEMPTS_PER_DAY verifications per person per (UTC) day, counted before asking anyone."""
        key = f"zsb:bind-attempts:{person_id}:{datetime.now(UTC):%Y%m%d}"
        async with self.redis.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(key).expire(key, 86400 + 3600).execute()
        if count > ATTEMPTS_PER_DAY:
            raise AppError(E.CITIZEN_ID_ATTEMPTS_EXCEEDED, headers={"Retry-After": "86400"})

    async def _report_taken(self, owner: Person, *, attempted_by: Person, masked: str) -> None:
        """The owner should know someone tried to bind their number (delivered by the notifications pipeline)."""
        await self.events.record(
            owner.id, "citizen_id_bind_attempt_by_other", {"masked": masked, "other_person_id": attempted_by.id}
        )
        log.warning("citizen_id_taken", owner_id=owner.id, attempted_by=attempted_by.id)
