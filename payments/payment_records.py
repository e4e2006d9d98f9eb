"""E-receipts and reconciliation reports as the API serves them (handlers: mobile_api/handlers/school_receipts.py).

- Receipts (`ReceiptDesk`): a parent reads the receipt of a bill of a child linked to them now (anyone else: 404
  RESOURCE_NOT_FOUND, like a missing bill); the school's finance staff read those of their school's bills
  (other staff: 403). A paid bill whose receipt is still queued gets it issued on the spot (idempotent). The PDF
  is rendered on demand off the IOLoop (payments/receipt_pdf.py: the same receipt gives the same bytes).
- Credit notes (红字票据, payments/credit_notes.py): whoever may read a bill's receipt reads and downloads the
  credit notes of its refunds; the receipt shows how much of it has been 冲红 (JSON and a red line on the PDF).
- The public check behind the QR code (`check`): number + code → the receipt's (or credit note's)
  non-sensitive fields (number, masked payer, amount, paid or refund time, school; a receipt's 冲红 state, a
  credit note's original number), or not genuine; an unknown number and a wrong code look the same.
  Limited per client IP with `limits` on Redis (moving windows; key names hold only an HMAC of the IP).
- Reconciliation (`ReconciliationDesk`): the school's view of the daily reports, only its own discrepancies
  (read: the school's finance staff, the education department's admin, supervisors); a re-run of one day for
  both channels by the school's finance staff (act), which replaces that day's reports for every school (a run
  is idempotent), limited per school.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pymongo.asynchronous.database import AsyncDatabase

from accounts.scopes import Action, Actor
from config.settings import Settings
from core.errors import AppError, ErrorCode
from core.mongo import Repository
from payments import fee_errors as FE
from payments import receipt_errors as RE
from payments.bill_service import Bills
from payments.credit_note_issuing import CreditNoteQueueRepository
from payments.credit_note_pdf import credit_remark, render_credit_note_pdf
from payments.credit_notes import (
    CreditNote,
    CreditNoteBook,
    CreditNoteRepository,
    CreditStatus,
    is_credit_note_number,
)
from payments.payment_orders import Payments
from payments.receipt_issuing import ReceiptIssuer, ReceiptQueueRepository
from payments.receipt_pdf import render_receipt_pdf
from payments.receipts import REPOSITORIES as RECEIPT_REPOSITORIES
from payments.receipts import Receipt, ReceiptBook
from payments.reconciliation import SHANGHAI, ReconciliationReportRepository
from payments.reconciliation_runs import ChannelRun, PaidOrderLedger, Reconciler, SchoolRefundLedger
from payments.schools import Schools

# Every collection of receipts, credit notes and reconciliation, for config/wiring.py (start-up creates their
# indexes).
REPOSITORIES: tuple[type[Repository], ...] = (*RECEIPT_REPOSITORIES, ReceiptQueueRepository, CreditNoteRepository,
                                              CreditNoteQueueRepository, ReconciliationReportRepository,
                                              PaidOrderLedger)
CHECKS_PER_MINUTE, CHECKS_PER_DAY = 20, 200  # public receipt checks per client IP
RERUNS_PER_HOUR = 10  # re-runs of reconciliation per school
RERUN_DAYS_BACK = 90  # WeChat Pay keeps trade bills three months


class _Limits:
    def __init__(self, redis: aioredis.Redis, redis_url: str, key: bytes) -> None:
        storage = RedisStorage("async+" + redis_url, implementation="redispy",
                               connection_pool=redis.connection_pool, key_prefix="zsb:limits")
        self.limiter, self.key = MovingWindowRateLimiter(storage), key

    async def hit(self, items: tuple[RateLimitItem, ...], kind: str, value: str, error: ErrorCode) -> None:
        ref = hmac.new(self.key, f"zsb-limit-ref|{kind}|{value}".encode(), hashlib.sha256).hexdigest()[:32]
        for item in items:
            if not await self.limiter.hit(item, kind, ref):
                stats = await self.limiter.get_window_stats(item, kind, ref)
                wait = max(math.ceil(stats.reset_time - time.time()), 1)
                raise AppError(error, headers={"Retry-After": str(wait)}, extra={"retry_after_s": wait})


@dataclass(frozen=True, slots=True)
class Checked:
    """What the public check found: a genuine receipt (with its 冲红 state) or credit note, or neither."""

    receipt: Receipt | None = None
    credit: CreditStatus | None = None
    note: CreditNote | None = None


@dataclass
class ReceiptDesk:
    book: ReceiptBook
    issuer: ReceiptIssuer
    bills: Bills
    limits: _Limits
    base_url: str
    notes: CreditNoteBook
    checks: tuple[RateLimitItem, ...] = (RateLimitItemPerMinute(CHECKS_PER_MINUTE), RateLimitItemPerDay(CHECKS_PER_DAY))

    async def for_parent(self, actor: Actor, bill_id: str) -> Receipt:
        return await self._of_bill(await self.bills.for_payer(actor, bill_id, Action.READ))

    async def for_school(self, actor: Actor, school_id: str, bill_id: str) -> Receipt:
        bill = await self.bills.for_payer(actor, bill_id, Action.READ)
        if bill["school_id"] != school_id:
            raise AppError(FE.BILL_NOT_FOUND)
        return await self._of_bill(bill)

    async def _of_bill(self, bill: dict[str, Any]) -> Receipt:
        order_id = (bill.get("payment") or {}).get("order_id")  # paid, or refunded since: the receipt stays
        receipt = None
        if order_id:
            receipt = await self.book.of_order(order_id) or await self.issuer.issue_for(order_id)
        if receipt is None:
            raise AppError(RE.RECEIPT_NOT_FOUND)
        return receipt

    async def credit(self, receipt: Receipt) -> CreditStatus:
        return await self.notes.status(receipt)

    async def pdf(self, receipt: Receipt) -> bytes:
        return await render_receipt_pdf(receipt, self.base_url, credit_remark(await self.credit(receipt)))

    # -- credit notes (红字票据) --------------------------------------------------------------------------------
    async def credit_notes_for_parent(self, actor: Actor, bill_id: str) -> tuple[CreditNote, ...]:
        return (await self.credit(await self.for_parent(actor, bill_id))).notes

    async def credit_note_for_parent(self, actor: Actor, bill_id: str, number: str) -> CreditNote:
        return self._note((await self.credit(await self.for_parent(actor, bill_id))).notes, number)

    async def credit_note_for_school(self, actor: Actor, school_id: str, bill_id: str, number: str) -> CreditNote:
        return self._note((await self.credit(await self.for_school(actor, school_id, bill_id))).notes, number)

    @staticmethod
    def _note(notes: tuple[CreditNote, ...], number: str) -> CreditNote:
        """One of the bill's credit notes (another bill's, or none: the same 404)."""
        found = next((n for n in notes if n.number == number.strip().upper()), None)
        if found is None:
            raise AppError(RE.CREDIT_NOTE_NOT_FOUND)
        return found

    async def credit_note_pdf(self, note: CreditNote) -> bytes:
        return await render_credit_note_pdf(note, self.base_url)

    async def check(self, number: str, code: str, *, ip: str) -> Checked:
        """The receipt or credit note when number and code verify; every check counts against the IP."""
        await self.limits.hit(self.checks, "receipt-check-ip", ip or "-", RE.RECEIPT_CHECKS_EXCEEDED)
        if is_credit_note_number(number.strip().upper()):
            return Checked(note=await self.notes.check(number, code))
        receipt = await self.book.check(number, code)
        return Checked(receipt, await self.credit(receipt)) if receipt else Checked()


@dataclass
class ReconciliationDesk:
    schools: Schools
    reports: ReconciliationReportRepository
    reconciler: Reconciler
    limits: _Limits
    reruns: tuple[RateLimitItem, ...] = (RateLimitItemPerHour(RERUNS_PER_HOUR),)

    async def for_school(self, actor: Actor, school_id: str, *, limit: int = 30) -> list[dict[str, Any]]:
        """The school's discrepancies, day by day (newest first): only reports that have some."""
        await self.schools.get(actor, school_id, Action.READ)
        return await self.reports.for_school(school_id, limit=limit)

    async def rerun(self, actor: Actor, school_id: str, day: date, *,
                    now: datetime | None = None) -> tuple[list[ChannelRun], list[dict[str, Any]]]:
        """Reconcile `day` again (both channels); each run and that day's reports as the school sees them."""
        await self.schools.get(actor, school_id, Action.ACT)
        today = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).date()
        if not today - timedelta(days=RERUN_DAYS_BACK) <= day < today:
            raise AppError(RE.RECONCILIATION_DAY_INVALID)
        await self.limits.hit(self.reruns, "reconciliation-rerun", school_id, RE.RECONCILIATION_RUNS_EXCEEDED)
        runs = await self.reconciler.run_day(day)
        return runs, [r for r in await self.reports.for_school(school_id, limit=200) if r["day"] == day.isoformat()]


@dataclass
class PaymentRecords:
    receipts: ReceiptDesk
    reconciliation: ReconciliationDesk

    @classmethod
    def build(cls, db: AsyncDatabase[dict[str, Any]], settings: Settings, redis: aioredis.Redis, payments: Payments,
              schools: Schools, *, fetchers: dict[str, Any]) -> PaymentRecords:
        issuer = payments.receipts
        limits = _Limits(redis, settings.redis_url, issuer.book.keys[0])
        reports = ReconciliationReportRepository(db)
        return cls(
            receipts=ReceiptDesk(issuer.book, issuer, payments.orders.bills, limits, settings.base_url,
                                 payments.credit_notes.book),
            reconciliation=ReconciliationDesk(schools, reports, Reconciler(PaidOrderLedger(db), SchoolRefundLedger(db), reports, fetchers),
                                              limits))
