"""School fees composed: schools, rosters, students leaving, fee items, bills, parent–child links, exports.

One object per process (built in config/wiring.py) that handlers reach as `deps.school_fees.<part>`; the Celery
tasks build the worker-side parts (`roster_runner`, `bill_generator`) from the same repositories.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from accounts.people import PersonRepository
from affairs.audit import AuditRepository
from affairs.case_repository import Transactions
from affairs.departments import DepartmentRepository
from affairs.regions import RegionRepository
from core.mongo import Repository
from core.outbox import OutboxRepository
from core.pii import BlindIndex, FieldCipher
from payments.bill_export import BillExport
from payments.bill_generation import BillGenerator
from payments.bill_service import Bills
from payments.bills import BillRepository
from payments.classes import ClassRepository
from payments.fee_item_repository import FeeItemRepository
from payments.fee_items import FeeItems
from payments.guardians import GuardianLinks, StaleStudent
from payments.link_codes import LinkCodeRepository, LinkCodes
from payments.link_limits import LinkAttempts
from payments.orders import OrderRepository
from payments.refunds import RefundRepository
from payments.roster_jobs import RosterJobRepository
from payments.roster_run import RosterRunner
from payments.roster_service import RosterImports
from payments.schools import SchoolRepository, Schools
from payments.student_leaving import StudentLeaving
from payments.students import StudentRepository
from storage.object_store import ObjectStore

Publish = Callable[..., Awaitable[str]]
REPOSITORIES: tuple[type[Repository], ...] = (
    SchoolRepository, ClassRepository, StudentRepository, RosterJobRepository, FeeItemRepository, BillRepository,
    LinkCodeRepository, OrderRepository, RefundRepository,
)


def bill_generator(client: AsyncMongoClient[dict[str, Any]], db: AsyncDatabase[dict[str, Any]]) -> BillGenerator:
    return BillGenerator(Transactions(client, retry_on=DuplicateKeyError), FeeItemRepository(db),
                         StudentRepository(db), BillRepository(db), OutboxRepository(db))


def roster_runner(client: AsyncMongoClient[dict[str, Any]], db: AsyncDatabase[dict[str, Any]], *,
                  objects: ObjectStore, bucket: str, cipher: FieldCipher, index: BlindIndex) -> RosterRunner:
    """The worker side of a roster import; students changed after publishing get the bills they miss."""
    items, generator = FeeItemRepository(db), bill_generator(client, db)

    async def catch_up(school_id: str) -> None:
        for item_id in await items.published_ids(school_id):
            if await items.request_bills(item_id):
                await generator.run(item_id)

    return RosterRunner(RosterJobRepository(db), SchoolRepository(db), ClassRepository(db), StudentRepository(db),
                        AuditRepository(db), objects, bucket, cipher, index, on_roster_changed=catch_up)


@dataclass
class SchoolFees:
    schools: Schools
    classes: ClassRepository
    students: StudentRepository
    roster: RosterImports
    fee_items: FeeItems
    bills: Bills
    guardians: GuardianLinks
    link_codes: LinkCodes
    export: BillExport
    leaving: StudentLeaving  # students who left the school (payments/student_leaving.py)

    @classmethod
    def build(cls, client: AsyncMongoClient[dict[str, Any]], db_name: str, *, cipher: FieldCipher,
              index: BlindIndex, redis: aioredis.Redis, redis_url: str, objects: ObjectStore, bucket: str,
              publish: Publish) -> SchoolFees:
        db = client[db_name]
        audit, outbox = AuditRepository(db), OutboxRepository(db)
        classes, students, bills = ClassRepository(db), StudentRepository(db), BillRepository(db)
        schools = Schools(SchoolRepository(db), DepartmentRepository(db), RegionRepository(db), audit)
        codes = LinkCodeRepository(db)
        link_codes = LinkCodes(codes, schools, students, index, audit)
        return cls(
            schools=schools, classes=classes, students=students,
            roster=RosterImports(RosterJobRepository(db), schools, objects, bucket, publish),
            fee_items=FeeItems(FeeItemRepository(db), schools, classes, students, bills, audit, outbox,
                               Transactions(client), publish),
            bills=Bills(bills, students, outbox),
            guardians=GuardianLinks(students, bills, PersonRepository(db), codes, link_codes,
                                    LinkAttempts(redis, redis_url=redis_url), audit, outbox,
                                    Transactions(client, retry_on=StaleStudent), cipher, index),
            link_codes=link_codes, export=BillExport(schools, classes, bills),
            leaving=StudentLeaving(students, bills, schools, outbox, audit, Transactions(client)),
        )
