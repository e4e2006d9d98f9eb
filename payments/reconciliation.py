"""Daily reconciliation (对账): a provider's trade bill for one Asia/Shanghai day against our own payments.

    fetch_bill(day) ──▶ provider_entries ──┐
                                            ├──▶ match (pure) ──▶ Reconciliation ──▶ reconciliation_reports
    load_local(channel, day, out_trade_nos) ┘

The bills list every payment whose success time falls on the day and every refund the provider accepted that
day (WeChat Pay: refund rows, not closed; Alipay: 退款 rows). The matcher reports, per out_trade_no (and
refund number):

- paid_there_not_here: the provider collected money we have no record of receiving (unknown order, another
  channel's order, or an order with no `paid_at`: a lost callback, a closed order paid anyway);
- paid_here_not_there: we recorded money received that day and the day's bill does not list it;
- amount_differs / transaction_differs: both sides have the payment with another amount / transaction number;
- refund_there_not_here / refund_here_not_there / refund_amount_differs: the same for refunds;
- duplicate_there: the bill lists the same payment or refund twice.

Amounts are compared as WeChat's 订单金额 / 申请退款金额 and Alipay's 订单金额 (before coupons), which is what
our orders and refunds ask for. The local side must use the provider's own times (`paid_at` = WeChat
success_time / Alipay gmt_payment, `accepted_at` = WeChat refund create_time / Alipay gmt_refund_pay), so a
payment at 23:59:59 lands on the same day on both sides.

`reconcile_day` fetches, matches and stores one report per (channel, day); running a day again replaces its
report (the Celery beat task can retry freely). A bill that cannot be had (BillUnavailable) is recorded as a
failed run, without hiding an earlier good report, and raised again for the task to retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from pymongo import ASCENDING, DESCENDING, IndexModel

from core.clock import bson_time
from core.mongo import Repository
from payments import alipay_types, wechatpay_types
from payments.errors import BillUnavailable

log = structlog.get_logger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNELS = ("wechatpay", "alipay")
Bill = wechatpay_types.TradeBill | alipay_types.TradeBill


class Kind(StrEnum):
    PAID_THERE_NOT_HERE = "paid_there_not_here"
    PAID_HERE_NOT_THERE = "paid_here_not_there"
    AMOUNT_DIFFERS = "amount_differs"
    TRANSACTION_DIFFERS = "transaction_differs"
    REFUND_THERE_NOT_HERE = "refund_there_not_here"
    REFUND_HERE_NOT_THERE = "refund_here_not_there"
    REFUND_AMOUNT_DIFFERS = "refund_amount_differs"
    DUPLICATE_THERE = "duplicate_there"


KIND_LABELS = {
    Kind.PAID_THERE_NOT_HERE: "渠道已收款，本地未记收款", Kind.PAID_HERE_NOT_THERE: "本地已记收款，渠道账单无此笔",
    Kind.AMOUNT_DIFFERS: "金额不一致", Kind.TRANSACTION_DIFFERS: "渠道交易单号不一致",
    Kind.REFUND_THERE_NOT_HERE: "渠道有退款，本地无此退款", Kind.REFUND_HERE_NOT_THERE: "本地有退款，渠道账单无此笔",
    Kind.REFUND_AMOUNT_DIFFERS: "退款金额不一致", Kind.DUPLICATE_THERE: "渠道账单重复记录",
}
_ORDER = {kind: index for index, kind in enumerate(Kind)}


# -- inputs ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LocalRefund:
    out_refund_no: str  # WeChat out_refund_no / Alipay out_request_no
    amount_fen: int
    state: str  # the order code's refund state, shown in the report
    accepted_at: datetime | None  # when the provider accepted it; None: never accepted (or closed there)


@dataclass(frozen=True, slots=True)
class LocalPayment:
    """One of our orders as reconciliation sees it. `paid_at` set means we recorded money received (whatever
    the order's `state`: a closed order paid anyway has one too)."""

    out_trade_no: str
    channel: str
    amount_fen: int
    state: str
    paid_at: datetime | None
    transaction_id: str | None
    refunds: tuple[LocalRefund, ...] = ()
    school_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """A bill row of either provider: a payment (`refund_no` None) or a refund; amounts positive fen."""

    out_trade_no: str
    transaction_id: str
    amount_fen: int
    at: datetime
    refund_no: str | None = None
    status: str = ""


def provider_entries(bill: Bill) -> list[ProviderEntry]:
    if isinstance(bill, wechatpay_types.TradeBill):
        return [ProviderEntry(r.out_trade_no, r.transaction_id, r.requested_refund_fen or r.refund_fen, r.trade_time,
                              r.out_refund_no, r.refund_status) if r.is_refund else
                ProviderEntry(r.out_trade_no, r.transaction_id, r.order_fen, r.trade_time, None, r.trade_state)
                for r in bill.rows]
    if isinstance(bill, alipay_types.TradeBill):
        return [ProviderEntry(r.out_trade_no, r.trade_no, abs(r.amount_fen), r.finished_at,
                              r.request_no if r.is_refund else None, r.kind) for r in bill.rows]
    raise TypeError(f"not a trade bill: {type(bill).__name__}")


def bill_channel(bill: Bill) -> str:
    return "wechatpay" if isinstance(bill, wechatpay_types.TradeBill) else "alipay"


# -- result ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: Kind
    out_trade_no: str
    out_refund_no: str | None = None
    provider_fen: int | None = None
    local_fen: int | None = None
    provider_transaction_id: str | None = None
    local_transaction_id: str | None = None
    local_state: str | None = None
    provider_at: datetime | None = None
    local_at: datetime | None = None
    school_id: str | None = None

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True, slots=True)
class Totals:
    payments: int = 0
    payment_fen: int = 0
    refunds: int = 0
    refund_fen: int = 0


@dataclass(frozen=True, slots=True)
class Reconciliation:
    channel: str
    day: date
    provider: Totals
    local: Totals
    matched_payments: int
    matched_refunds: int
    discrepancies: tuple[Discrepancy, ...]

    @property
    def balanced(self) -> bool:
        return not self.discrepancies


def on_day(moment: datetime | None, day: date) -> bool:
    return moment is not None and moment.astimezone(SHANGHAI).date() == day


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of an Asia/Shanghai day in UTC: what `load_local` queries `paid_at` / `accepted_at` with."""
    start = datetime.combine(day, time(), SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


# -- the matcher (pure) -------------------------------------------------------------------------------------------
def match(channel: str, day: date, entries: Iterable[ProviderEntry], local: Iterable[LocalPayment]) -> Reconciliation:
    """Every discrepancy between the day's bill rows and our payments, sorted by kind then order number."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    entries, ours = list(entries), {p.out_trade_no: p for p in local}
    found: list[Discrepancy] = []
    matched_payments = matched_refunds = 0

    paid_there: dict[str, ProviderEntry] = {}
    for e in (e for e in entries if e.refund_no is None):
        p = ours.get(e.out_trade_no)
        school = p.school_id if p else None
        if e.out_trade_no in paid_there:
            found.append(Discrepancy(Kind.DUPLICATE_THERE, e.out_trade_no, provider_fen=e.amount_fen,
                                     provider_transaction_id=e.transaction_id, provider_at=e.at, school_id=school))
            continue
        paid_there[e.out_trade_no] = e
        if p is None or p.channel != channel or p.paid_at is None:
            found.append(Discrepancy(Kind.PAID_THERE_NOT_HERE, e.out_trade_no, provider_fen=e.amount_fen,
                                     local_fen=p.amount_fen if p else None, provider_transaction_id=e.transaction_id,
                                     local_state=f"{p.channel}:{p.state}" if p else None, provider_at=e.at,
                                     school_id=school))
            continue
        problems = []
        if p.amount_fen != e.amount_fen:
            problems.append(Kind.AMOUNT_DIFFERS)
        if p.transaction_id and p.transaction_id != e.transaction_id:
            problems.append(Kind.TRANSACTION_DIFFERS)
        for kind in problems:
            found.append(Discrepancy(kind, e.out_trade_no, provider_fen=e.amount_fen, local_fen=p.amount_fen,
                                     provider_transaction_id=e.transaction_id, local_transaction_id=p.transaction_id,
                                     local_state=p.state, provider_at=e.at, local_at=p.paid_at, school_id=school))
        matched_payments += not problems

    mine = [p for p in ours.values() if p.channel == channel]
    for p in mine:
        if on_day(p.paid_at, day) and p.out_trade_no not in paid_there:
            found.append(Discrepancy(Kind.PAID_HERE_NOT_THERE, p.out_trade_no, local_fen=p.amount_fen,
                                     local_transaction_id=p.transaction_id, local_state=p.state, local_at=p.paid_at,
                                     school_id=p.school_id))

    refunds_here = {(p.out_trade_no, r.out_refund_no): (p, r) for p in mine for r in p.refunds}
    refunded_there: set[tuple[str, str]] = set()
    for e in (e for e in entries if e.refund_no is not None):
        key = (e.out_trade_no, e.refund_no or "")
        p, r = refunds_here.get(key, (ours.get(e.out_trade_no), None))
        if key in refunded_there:
            kind: Kind | None = Kind.DUPLICATE_THERE
        elif r is None or r.accepted_at is None:
            kind = Kind.REFUND_THERE_NOT_HERE
        elif r.amount_fen != e.amount_fen:
            kind = Kind.REFUND_AMOUNT_DIFFERS
        else:
            kind, matched_refunds = None, matched_refunds + 1
        if kind is not None:
            found.append(Discrepancy(
                kind, e.out_trade_no, key[1], provider_fen=e.amount_fen, local_fen=r.amount_fen if r else None,
                provider_transaction_id=e.transaction_id, local_transaction_id=p.transaction_id if p else None,
                local_state=r.state if r else None, provider_at=e.at, local_at=r.accepted_at if r else None,
                school_id=p.school_id if p else None))
        refunded_there.add(key)
    for (out_trade_no, refund_no), (p, r) in refunds_here.items():
        if on_day(r.accepted_at, day) and (out_trade_no, refund_no) not in refunded_there:
            found.append(Discrepancy(Kind.REFUND_HERE_NOT_THERE, out_trade_no, out_refund_no=refund_no,
                                     local_fen=r.amount_fen, local_transaction_id=p.transaction_id,
                                     local_state=r.state, local_at=r.accepted_at, school_id=p.school_id))

    there_pay = [e for e in entries if e.refund_no is None]
    there_refund = [e for e in entries if e.refund_no is not None]
    here_pay = [p for p in mine if on_day(p.paid_at, day)]
    here_refund = [r for p in mine for r in p.refunds if on_day(r.accepted_at, day)]
    found.sort(key=lambda d: (_ORDER[d.kind], d.out_trade_no, d.out_refund_no or ""))
    return Reconciliation(
        channel, day,
        Totals(len(there_pay), sum(e.amount_fen for e in there_pay), len(there_refund),
               sum(e.amount_fen for e in there_refund)),
        Totals(len(here_pay), sum(p.amount_fen for p in here_pay), len(here_refund),
               sum(r.amount_fen for r in here_refund)),
        matched_payments, matched_refunds, tuple(found))


# -- storage -----------------------------------------------------------------------------------------------------
def report_id(channel: str, day: date) -> str:
    return f"{channel}:{day.isoformat()}"


def _discrepancy_doc(d: Discrepancy) -> dict[str, Any]:
    return {"kind": d.kind.value, "label": d.label, "out_trade_no": d.out_trade_no, "out_refund_no": d.out_refund_no,
            "provider_fen": d.provider_fen, "local_fen": d.local_fen,
            "provider_transaction_id": d.provider_transaction_id, "local_transaction_id": d.local_transaction_id,
            "local_state": d.local_state, "provider_at": d.provider_at and bson_time(d.provider_at),
            "local_at": d.local_at and bson_time(d.local_at), "school_id": d.school_id}


def _totals_doc(t: Totals) -> dict[str, int]:
    return {"payments": t.payments, "payment_fen": t.payment_fen, "refunds": t.refunds, "refund_fen": t.refund_fen}


class ReconciliationReportRepository(Repository):
    """`reconciliation_reports`: one document per (channel, day), `_id` `wechatpay:2025-09-01`."""

    collection_name = "reconciliation_reports"
    indexes = (
        IndexModel([("day", DESCENDING), ("channel", ASCENDING)], name="recent"),
        IndexModel([("discrepancies.school_id", ASCENDING), ("day", DESCENDING)], name="school_discrepancies"),
    )

    async def save(self, result: Reconciliation, *, now: datetime | None = None) -> dict[str, Any]:
        """Write the day's report, replacing what an earlier run wrote (discrepancies included)."""
        moment = bson_time(now)
        kinds: dict[str, int] = {}
        for d in result.discrepancies:
            kinds[d.kind.value] = kinds.get(d.kind.value, 0) + 1
        fields = {
            "channel": result.channel, "day": result.day.isoformat(), "status": "done", "balanced": result.balanced,
            "provider": _totals_doc(result.provider), "local": _totals_doc(result.local),
            "matched": {"payments": result.matched_payments, "refunds": result.matched_refunds},
            "discrepancy_count": len(result.discrepancies), "by_kind": kinds,
            "discrepancies": [_discrepancy_doc(d) for d in result.discrepancies], "error": None, "run_at": moment,
        }
        await self.collection.update_one(
            {"_id": report_id(result.channel, result.day)},
            {"$set": fields, "$setOnInsert": {"first_run_at": moment}, "$inc": {"runs": 1}}, upsert=True)
        doc = await self.get(result.channel, result.day)
        assert doc is not None
        return doc

    async def mark_failed(self, channel: str, day: date, code: str, message: str, *,
                          now: datetime | None = None) -> None:
        """A run that could not reconcile. An earlier complete report stays (its `error` says the re-run
        failed); otherwise the day shows as failed, so nobody takes a missing report for a clean day."""
        moment, error = bson_time(now), {"code": code, "message": message[:300], "at": bson_time(now)}
        kept = await self.collection.update_one({"_id": report_id(channel, day), "status": "done"},
                                                {"$set": {"error": error}, "$inc": {"runs": 1}})
        if kept.matched_count:
            return
        await self.collection.update_one(
            {"_id": report_id(channel, day)},
            {"$set": {"channel": channel, "day": day.isoformat(), "status": "failed", "balanced": False,
                      "error": error, "run_at": moment},
             "$setOnInsert": {"first_run_at": moment, "discrepancies": [], "discrepancy_count": 0},
             "$inc": {"runs": 1}}, upsert=True)

    async def get(self, channel: str, day: date) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": report_id(channel, day)})

    async def recent(self, *, limit: int = 30, channel: str | None = None,
                     unbalanced_only: bool = False) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if channel:
            query["channel"] = channel
        if unbalanced_only:
            query["balanced"] = False
        cursor = self.collection.find(query, {"discrepancies": 0}).sort([("day", DESCENDING), ("channel", ASCENDING)])
        return [doc async for doc in cursor.limit(limit)]

    async def for_school(self, school_id: str, *, limit: int = 30) -> list[dict[str, Any]]:
        """Reports with discrepancies of one school's orders, newest day first, keeping only those discrepancies
        (what that school's finance staff may see)."""
        cursor = self.collection.find({"discrepancies.school_id": school_id}).sort("day", DESCENDING).limit(limit)
        reports = []
        async for doc in cursor:
            doc["discrepancies"] = [d for d in doc["discrepancies"] if d.get("school_id") == school_id]
            doc["discrepancy_count"] = len(doc["discrepancies"])
            doc.pop("by_kind", None)  # counted over every school
            reports.append(doc)
        return reports


# -- the service ---------------------------------------------------------------------------------------------
FetchBill = Callable[[date], Awaitable[Bill]]
LoadLocal = Callable[[str, date, Sequence[str]], Awaitable[Iterable[LocalPayment]]]


async def reconcile_day(channel: str, day: date, fetch_bill: FetchBill, load_local: LoadLocal,
                        reports: ReconciliationReportRepository, *, now: datetime | None = None) -> Reconciliation:
    """Reconcile one channel's day and store its report (replacing an earlier run's).

    `fetch_bill(day)`: the parsed bill, e.g. `deps.wechatpay.trade_bill` or `deps.alipay.trade_bill`.
    `load_local(channel, day, out_trade_nos)`: our payments of that channel whose `paid_at` or a refund's
    `accepted_at` falls on the day (`day_bounds`), plus those whose out_trade_no is listed (the bill's, any day,
    any state)."""
    try:
        bill = await fetch_bill(day)
        if bill_channel(bill) != channel:
            raise BillUnavailable(channel, "BILL_WRONG_CHANNEL", f"fetch_bill gave a {bill_channel(bill)} bill")
        if bill.bill_date != day:
            raise BillUnavailable(channel, "BILL_WRONG_DAY", f"the bill is of {bill.bill_date}")
    except BillUnavailable as exc:
        await reports.mark_failed(channel, day, exc.code, exc.message, now=now)
        log.warning("reconciliation_failed", channel=channel, day=day.isoformat(), code=exc.code)
        raise
    entries = provider_entries(bill)
    local = await load_local(channel, day, sorted({e.out_trade_no for e in entries}))
    result = match(channel, day, entries, local)
    await reports.save(result, now=now)
    (log.info if result.balanced else log.warning)(
        "reconciliation_done", channel=channel, day=day.isoformat(), matched_payments=result.matched_payments,
        matched_refunds=result.matched_refunds, discrepancies=len(result.discrepancies),
        kinds=sorted({d.kind.value for d in result.discrepancies}))
    return result
