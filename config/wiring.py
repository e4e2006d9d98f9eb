"""Builds the clients a process needs from settings, and checks that each dependency answers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import redis.asyncio as aioredis
import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from accounts.binding import CitizenIdBinding
from accounts.events import AccountEventRepository
from accounts.identity import IdentityService
from accounts.passwords import Passwords
from accounts.people import PersonRepository
from accounts.phone_accounts import PhoneAccounts
from accounts.sessions import LoginSessionRepository, LoginSessions
from accounts.sms_codes import SmsCodes
from accounts.staff import StaffRepository
from accounts.staff_admin import StaffAdministration
from accounts.staff_audit import StaffAuditRepository
from accounts.staff_login import StaffLogin
from accounts.staff_password import StaffPasswordChange
from accounts.staff_wechat import StaffWeChat
from accounts.tokens import AccessTokenService
from affairs.audit import AuditRepository
from affairs.case_repository import CaseEventRepository, CaseRepository, CaseTaskRepository
from affairs.cases import Cases
from affairs.catalogue_service import Catalogue
from affairs.departments import DepartmentRepository
from affairs.ecerts import EcertRepository
from affairs.import_service import MatterImports
from affairs.imports import ImportJobRepository
from affairs.matter_access import authorize_matter_change
from affairs.matter_repository import MatterRepository, MatterVersionRepository
from affairs.rating_repository import RatingRepository
from affairs.ratings import Ratings
from affairs.regions import RegionRepository
from affairs.workdays import WorkCalendar
from config.pii import pii_from_settings
from config.settings import Settings
from core.idempotency import IdempotencyRepository
from core.list_cache import ListCache
from core.mongo import Repository, ensure_all_indexes
from core.outbox import OutboxRepository
from core.record_cache import RecordCache
from notifications.celery_app import create_celery
from notifications.grants import GrantRepository
from notifications.inbox import InboxRepository
from notifications.messages import MessageRepository
from notifications.preferences import PreferenceRepository
from notifications.publisher import TaskPublisher
from notifications.service import NotificationCentre
from payments.alipay import AlipayClient
from payments.payment_orders import Payments
from payments.payment_records import REPOSITORIES as PAYMENT_RECORD_REPOSITORIES
from payments.payment_records import PaymentRecords
from payments.school_fees import REPOSITORIES as SCHOOL_FEE_REPOSITORIES
from payments.school_fees import SchoolFees
from payments.wechatpay import WeChatPayClient
from population import PopulationClient
from storage.access_log import DocumentAccessLogRepository
from storage.document_service import Documents
from storage.documents import INCOMING_PREFIX, DocumentRepository
from storage.forms import FormFileRepository, Forms
from storage.object_store import ObjectStore
from storage.slot_limits import SlotLimits
from wechat import WeChatClients

log = structlog.get_logger(__name__)

# Every collection's repository, so start-up creates every index. Domain packages add theirs here.
REPOSITORIES: tuple[type[Repository], ...] = (
    IdempotencyRepository, LoginSessionRepository, PersonRepository, AccountEventRepository,
    StaffRepository, StaffAuditRepository,
    RegionRepository, DepartmentRepository, MatterRepository, MatterVersionRepository, AuditRepository,
    ImportJobRepository, DocumentRepository, OutboxRepository,
    DocumentAccessLogRepository, FormFileRepository,
    CaseRepository, CaseEventRepository, CaseTaskRepository, EcertRepository, RatingRepository,
    MessageRepository, InboxRepository, GrantRepository, PreferenceRepository,
    *SCHOOL_FEE_REPOSITORIES, *PAYMENT_RECORD_REPOSITORIES,
)


def mongo_client(settings: Settings) -> AsyncMongoClient[dict[str, Any]]:
    """The MongoDB client of a process (the API here, the Celery worker per import task)."""
    return AsyncMongoClient(settings.mongodb_uri, serverSelectionTimeoutMS=settings.mongodb_server_selection_timeout_ms,
                            connectTimeoutMS=2000, tz_aware=True, appname="zsb")


def object_store(settings: Settings) -> ObjectStore:
    return ObjectStore(endpoint=settings.s3_netloc, access_key=settings.s3_access_key,
                       secret_key=settings.s3_secret_key.get_secret_value(), region=settings.s3_region,
                       secure=settings.s3_secure)


def document_service(settings: Settings, db: AsyncDatabase[dict[str, Any]], redis: aioredis.Redis,
                     objects: ObjectStore) -> Documents:
    """Residents' documents with the per-person limits of the settings."""
    repo = DocumentRepository(db)
    limits = SlotLimits(repo, redis, redis_url=settings.redis_url, per_hour=settings.document_slots_per_hour,
                        quota_count=settings.document_quota_count, quota_bytes=settings.document_quota_bytes)
    return Documents(repo, objects, settings.s3_bucket_documents, limits=limits)


@dataclass
class Dependencies:
    """The clients of one process (built from settings) and the services composed from them."""

    settings: Settings
    mongo: AsyncMongoClient[dict[str, Any]]
    redis: aioredis.Redis
    objects: ObjectStore
    tasks: TaskPublisher
    wechat: WeChatClients
    population: PopulationClient
    wechatpay: WeChatPayClient  # WeChat Pay API v3 (payments/wechatpay.py)
    alipay: AlipayClient  # Alipay open platform (payments/alipay.py)
    people: PersonRepository
    sessions: LoginSessions
    identity: IdentityService
    binding: CitizenIdBinding
    sms_codes: SmsCodes
    staff_admin: StaffAdministration
    staff_login: StaffLogin
    catalogue: Catalogue
    matter_imports: MatterImports
    staff_wechat: StaffWeChat
    staff_password: StaffPasswordChange
    documents: Documents
    forms: Forms  # blank forms and samples of the catalogue (样表)
    work_calendar: WorkCalendar  # holidays and make-up days; a bad holiday file fails start-up here
    cases: Cases
    school_fees: SchoolFees  # schools, rosters, fee items, bills, parent–child links (payments/)

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        return self.mongo[self.settings.mongodb_db]

    @cached_property
    def payments(self) -> Payments:
        """Payment orders, provider callbacks, settlement, refunds of late money, the sweep (payments/)."""
        return Payments.build(self.mongo, self.settings, wechatpay=self.wechatpay, alipay=self.alipay)

    @cached_property
    def payment_records(self) -> PaymentRecords:
        """E-receipts (downloads, the public check) and reconciliation reports and re-runs (payments/)."""
        return PaymentRecords.build(self.db, self.settings, self.redis, self.payments, self.school_fees.schools,
                                    fetchers={"wechatpay": self.wechatpay.trade_bill, "alipay": self.alipay.trade_bill})

    @cached_property
    def ratings(self) -> Ratings:
        """Ratings of service (好差评) on ended cases and the follow-up of bad ones (affairs/ratings.py)."""
        return Ratings.build(self.db, calendar=self.work_calendar, window_days=self.settings.rating_window_days)

    @cached_property
    def notifications(self) -> NotificationCentre:
        """Inbox, preferences, grants, template previews, delivery statistics and reports (notifications/)."""
        return NotificationCentre(self.db)

    @classmethod
    def from_settings(cls, settings: Settings) -> Dependencies:
        """Build the clients; nothing connects until first use, so this never blocks or fails on a dead server."""
        mongo = mongo_client(settings)
        redis = aioredis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=1, socket_timeout=2, health_check_interval=30
        )
        objects = object_store(settings)
        tasks = TaskPublisher(create_celery(settings))
        wechat = WeChatClients.from_settings(settings, redis)
        population = PopulationClient.from_settings(settings)
        wechatpay = WeChatPayClient.from_settings(settings)  # payment keys are read (and checked) here
        alipay = AlipayClient.from_settings(settings)
        cipher, blind_index = pii_from_settings(settings)  # malformed keys fail here, at start-up
        db = mongo[settings.mongodb_db]
        people = PersonRepository(db)
        sessions = LoginSessions.from_settings(db, settings, redis)
        sms_codes = SmsCodes.from_settings(settings, redis, tasks, cipher)
        account_events = AccountEventRepository(db)
        phones = PhoneAccounts(people, account_events, cipher, blind_index)
        identity = IdentityService(people, sessions, AccessTokenService.from_settings(settings), wechat,
                                   sms_codes=sms_codes, phones=phones)
        binding = CitizenIdBinding(people, account_events, population, cipher, blind_index, redis)
        passwords, staff_audit = Passwords(), StaffAuditRepository(db)
        staff = StaffRepository(db, RecordCache(redis, "zsb:staff-account"))
        staff_admin = StaffAdministration(staff, staff_audit, passwords, sessions, cipher, blind_index)
        staff_login = StaffLogin(staff, staff_audit, passwords, sms_codes, sessions, identity.tokens, cipher, redis)
        staff_wechat = StaffWeChat(staff, staff_audit, sessions, staff_login, wechat.miniprogram)
        staff_password = StaffPasswordChange(staff, staff_audit, passwords, sessions, staff_login)
        matter_imports = MatterImports(ImportJobRepository(db), DepartmentRepository(db), IdempotencyRepository(db),
                                       objects, settings.s3_bucket_documents, tasks.send)
        documents = document_service(settings, db, redis, objects)
        work_calendar = WorkCalendar.from_settings(settings)
        cases = Cases.build(mongo, settings.mongodb_db, cipher=cipher, calendar=work_calendar, documents=documents,
                            lists=ListCache(redis))
        school_fees = SchoolFees.build(mongo, settings.mongodb_db, cipher=cipher, index=blind_index, redis=redis,
                                       redis_url=settings.redis_url, objects=objects,
                                       bucket=settings.s3_bucket_documents, publish=tasks.send)
        return cls(settings=settings, mongo=mongo, redis=redis, objects=objects, tasks=tasks, wechat=wechat,
                   population=population, people=people, sessions=sessions, identity=identity, binding=binding,
                   sms_codes=sms_codes, staff_admin=staff_admin, staff_login=staff_login,
                   catalogue=Catalogue.from_db(db), staff_wechat=staff_wechat, staff_password=staff_password,
                   matter_imports=matter_imports, wechatpay=wechatpay, alipay=alipay,
                   documents=documents, forms=Forms(FormFileRepository(db), objects, settings.s3_bucket_documents,
                                                    authorize_matter_change),
                   work_calendar=work_calendar, cases=cases, school_fees=school_fees)

    async def check(self, *, require_buckets: bool = True) -> dict[str, str]:
        """Ask each dependency concurrently, each bounded by the same short timeout. `ok` or the reason."""
        timeout = self.settings.dependency_check_timeout_s
        probes = {
            "mongodb": self.db.command("ping"),
            "redis": self.redis.ping(),
            "s3": self.objects.ping(self.settings.s3_bucket_documents if require_buckets else None),
        }
        results = await asyncio.gather(
            *(asyncio.wait_for(probe, timeout) for probe in probes.values()), return_exceptions=True
        )
        return {name: _describe(result) for name, result in zip(probes, results, strict=True)}

    async def wait_until_ready(self, *, give_up_after_s: float = 60.0) -> None:
        """At start-up: wait for the servers (they may be starting alongside us), then fail loudly."""
        deadline = time.monotonic() + give_up_after_s
        while True:
            status = await self.check(require_buckets=False)
            if all(v == "ok" for v in status.values()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"dependencies not ready after {give_up_after_s:.0f}s: {status}")
            log.info("waiting_for_dependencies", status=status)
            await asyncio.sleep(0.5)

    async def prepare(self) -> None:
        """Idempotent start-up work: indexes of every collection and the buckets."""
        await ensure_all_indexes(self.db, REPOSITORIES)
        created = await self.objects.ensure_buckets([self.settings.s3_bucket_documents])
        if created:
            log.info("buckets_created", buckets=created)
        await self._expire_incoming()

    async def _expire_incoming(self) -> None:
        """A lifecycle rule expiring abandoned uploads (storage/cleanup.py sweeps them anyway: a server that
        refuses lifecycle rules is logged, not fatal)."""
        try:
            await self.objects.ensure_expiry(self.settings.s3_bucket_documents, INCOMING_PREFIX, days=2)
        except Exception as exc:  # noqa: BLE001 - any refusal: the clean-up job is the guarantee
            log.warning("lifecycle_rule_not_set", error=f"{type(exc).__name__}: {exc}"[:200])

    async def close(self) -> None:
        await self.wechat.aclose()
        await self.population.aclose()
        await self.wechatpay.aclose()
        await self.alipay.aclose()
        await self.mongo.close()
        await self.redis.aclose()
        self.documents.close()
        self.objects.close()
        self.tasks.close()
        self.staff_admin.passwords.close()


def _describe(result: object) -> str:
    if not isinstance(result, BaseException):
        return "ok"
    if isinstance(result, TimeoutError):
        return "timeout"
    return f"{type(result).__name__}: {result}"[:200]
