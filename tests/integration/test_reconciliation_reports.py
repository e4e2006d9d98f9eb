"""Reconciliation reports against the real MongoDB wire-protocol server: one report per (channel, day), a re-run
replaces it, failed runs are visible without hiding a good report, school finance sees its own discrepancies."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.wiring import Dependencies
from core.ids import new_id
from payments.errors import BillUnavailable
from payments.reconciliation import (
    Kind,
    LocalPayment,
    ReconciliationReportRepository,
    reconcile_day,
)
from payments.wechatpay_bill import parse_trade_bill
from payments.wechatpay_types import TradeBill
from simulators.wechatpay_bill import BillLine, render

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def reports(deps: Dependencies) -> ReconciliationReportRepository:
    repo = ReconciliationReportRepository(deps.db)
    await repo.ensure_indexes()
    return repo


def a_day() -> date:
    """A day no other test of the session reconciles (report ids are channel:day)."""
    return date(2040, 1, 1) + timedelta(days=random.randrange(100_000))


def bill_of(day: date, *payments: tuple[str, int]) -> TradeBill:
    moment = datetime(day.year, day.month, day.day, 9, tzinfo=SH)
    lines = [BillLine(moment + timedelta(minutes=i), "wxappid", "1900000109", f"42{no}", no, "o-openid", fen,
                      "学费", "") for i, (no, fen) in enumerate(payments)]
    return parse_trade_bill(render(day, lines), day)


class Local:
    """load_local over a list, recording what it was asked."""

    def __init__(self, payments: list[LocalPayment]) -> None:
        self.payments, self.asked = payments, []

    async def __call__(self, channel: str, day: date, out_trade_nos: Sequence[str]) -> list[LocalPayment]:
        self.asked.append((channel, day, list(out_trade_nos)))
        return self.payments


async def test_a_day_is_reported_and_a_rerun_replaces_its_report(reports: ReconciliationReportRepository) -> None:
    day, school = a_day(), new_id()
    paid_at = datetime(day.year, day.month, day.day, 9, tzinfo=SH)
    a, b, c = new_id(), new_id(), new_id()

    async def fetch(d: date) -> TradeBill:
        return bill_of(d, (a, 120000), (b, 80000))

    local = Local([LocalPayment(a, "wechatpay", 120000, "paid", paid_at, f"42{a}", school_id=school),
                   LocalPayment(c, "wechatpay", 5000, "paid", paid_at, f"42{c}", school_id=school)])
    first_at = datetime(2041, 1, 2, 1, tzinfo=UTC)
    result = await reconcile_day("wechatpay", day, fetch, local, reports, now=first_at)
    assert local.asked == [("wechatpay", day, sorted([a, b]))]
    assert {(d.kind, d.out_trade_no) for d in result.discrepancies} == {
        (Kind.PAID_THERE_NOT_HERE, b), (Kind.PAID_HERE_NOT_THERE, c)}

    doc = await reports.get("wechatpay", day)
    assert doc is not None and doc["_id"] == f"wechatpay:{day.isoformat()}"
    assert (doc["status"], doc["balanced"], doc["runs"], doc["discrepancy_count"]) == ("done", False, 1, 2)
    assert doc["by_kind"] == {"paid_there_not_here": 1, "paid_here_not_there": 1}
    assert doc["provider"] == {"payments": 2, "payment_fen": 200000, "refunds": 0, "refund_fen": 0}
    assert doc["matched"] == {"payments": 1, "refunds": 0}
    missing = next(d for d in doc["discrepancies"] if d["out_trade_no"] == b)
    assert missing["provider_fen"] == 80000 and missing["label"] == "渠道已收款，本地未记收款"
    assert missing["provider_at"] == paid_at.astimezone(UTC) + timedelta(minutes=1)

    # the order engineer's fix lands (B recorded, C found in tomorrow's bill); the day is run again
    local.payments = [LocalPayment(a, "wechatpay", 120000, "paid", paid_at, f"42{a}", school_id=school),
                      LocalPayment(b, "wechatpay", 80000, "paid", paid_at, f"42{b}", school_id=school)]
    again = await reconcile_day("wechatpay", day, fetch, local, reports, now=first_at + timedelta(hours=1))
    assert again.balanced
    doc = await reports.get("wechatpay", day)
    assert doc is not None
    assert (doc["status"], doc["balanced"], doc["runs"], doc["discrepancies"], doc["by_kind"]) == (
        "done", True, 2, [], {})
    assert doc["first_run_at"] == first_at and doc["run_at"] == first_at + timedelta(hours=1)
    assert await reports.collection.count_documents({"_id": f"wechatpay:{day.isoformat()}"}) == 1


async def test_a_bill_that_cannot_be_had_is_a_failed_run_that_hides_no_good_report(
        reports: ReconciliationReportRepository) -> None:
    day = a_day()

    async def unavailable(d: date) -> TradeBill:
        raise BillUnavailable("wechatpay", "BILL_HASH_MISMATCH", "SHA1 of the file differs from hash_value")

    with pytest.raises(BillUnavailable):
        await reconcile_day("wechatpay", day, unavailable, Local([]), reports)
    doc = await reports.get("wechatpay", day)
    assert doc is not None
    assert (doc["status"], doc["balanced"], doc["error"]["code"], doc["discrepancies"]) == (
        "failed", False, "BILL_HASH_MISMATCH", [])

    async def empty(d: date) -> TradeBill:
        return bill_of(d)

    await reconcile_day("wechatpay", day, empty, Local([]), reports)
    with pytest.raises(BillUnavailable):
        await reconcile_day("wechatpay", day, unavailable, Local([]), reports)
    doc = await reports.get("wechatpay", day)
    assert doc is not None
    assert (doc["status"], doc["balanced"], doc["error"]["code"], doc["runs"]) == (
        "done", True, "BILL_HASH_MISMATCH", 3)
    await reconcile_day("wechatpay", day, empty, Local([]), reports)
    doc = await reports.get("wechatpay", day)
    assert doc is not None and doc["error"] is None and doc["runs"] == 4


async def test_a_bill_of_another_channel_or_day_is_refused(reports: ReconciliationReportRepository) -> None:
    day = a_day()

    async def wrong_day(d: date) -> TradeBill:
        return bill_of(d + timedelta(days=1))

    with pytest.raises(BillUnavailable) as caught:
        await reconcile_day("wechatpay", day, wrong_day, Local([]), reports)
    assert caught.value.code == "BILL_WRONG_DAY"
    with pytest.raises(BillUnavailable) as caught:
        await reconcile_day("alipay", day, lambda d: _async(bill_of(d)), Local([]), reports)
    assert caught.value.code == "BILL_WRONG_CHANNEL"
    failed = await reports.get("alipay", day)
    assert failed is not None and failed["status"] == "failed"


async def _async(value: TradeBill) -> TradeBill:
    return value


async def test_school_finance_sees_its_own_discrepancies_and_lists_are_newest_first(
        reports: ReconciliationReportRepository) -> None:
    mine, other = new_id(), new_id()
    days = sorted({a_day() for _ in range(2)})
    for day in days:
        paid_at = datetime(day.year, day.month, day.day, 9, tzinfo=SH)
        local = Local([LocalPayment(new_id(), "wechatpay", 100, "paid", paid_at, "42x", school_id=mine),
                       LocalPayment(new_id(), "wechatpay", 200, "paid", paid_at, "42y", school_id=other)])
        await reconcile_day("wechatpay", day, lambda d: _async(bill_of(d)), local, reports)

    seen = await reports.for_school(mine)
    assert [doc["day"] for doc in seen] == [d.isoformat() for d in reversed(days)]
    for doc in seen:
        assert [(d["school_id"], d["local_fen"]) for d in doc["discrepancies"]] == [(mine, 100)]
        assert doc["discrepancy_count"] == 1 and "by_kind" not in doc
    assert await reports.for_school(new_id()) == []

    listed = await reports.recent(limit=10_000, unbalanced_only=True, channel="wechatpay")
    ours = [doc for doc in listed if doc["day"] in {d.isoformat() for d in days}]
    assert [doc["day"] for doc in ours] == [d.isoformat() for d in reversed(days)]
    assert all("discrepancies" not in doc and doc["discrepancy_count"] == 2 for doc in ours)
    info = await reports.collection.index_information()
    assert {"recent", "school_discrepancies"} <= set(info)
