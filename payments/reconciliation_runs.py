"""Running daily reconciliation (payments/reconciliation.py) against our payment orders.

`Reconciler.run_day(day)` reconciles each channel's trade bill of one Asia/Shanghai day and stores each report
(a re-run replaces it). It is what the beat task (payments/reconciliation_tasks.py, each morning for yesterday)
and school finance's re-run (payments/payment_records.py) call.

The local side (`load_local`, the contract of docs/receipts-and-reconciliation.md) is read from
`payment_orders`:
- orders of the channel whose recorded money (`payment.paid_at`, the provider's own success time: WeChat
  success_time / Alipay gmt_payment, whatever the order's state: a closed order paid anyway has one too) falls
  on the day;
- orders of the channel whose automatic refund of late money was accepted on the day: `refund.accepted_at`
  when the refunder records it, otherwise the time we recorded the provider's acceptance (`refund.updated_at`
  of a refund `processing` / `refunded`; close to WeChat's create_time / Alipay's gmt_refund_pay, but a
  refund settled later moves it);
- orders of the channel with a refund asked for by school finance (`payment_refunds`, payments/refunds.py)
  accepted on the day (its `accepted_at`);
- every order the bill names, of any day, state or channel.
Each order comes with its refunds: the automatic one and those of school finance that were sent (approved
ones never accepted count as not accepted; requested and rejected ones are not refunds yet).

A provider that does not answer, or refuses the bill call, is recorded like a bill that fails its checks
(`BillUnavailable`: the day's report shows the failure, an earlier good report is kept) and reported back so
the caller retries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel

from core.mongo import Repository
from payments.errors import BillUnavailable, PaymentProviderError
from payments.orders import RefundState
from payments.reconciliation import (
    CHANNELS,
    SHANGHAI,
    Bill,
    FetchBill,
    LocalPayment,
    LocalRefund,
    ReconciliationReportRepository,
    day_bounds,
    reconcile_day,
)

_ACCEPTED = (RefundState.PROCESSING.value, RefundState.REFUNDED.value)
_SENT = ("approved", "processing", "succeeded", "failed")  # payments/refunds.py: refunds put to the provider
_CHUNK = 500


class PaidOrderLedger(Repository):
    """`payment_orders` as reconciliation reads it (read only; the orders are written by OrderRepository). It
    owns the one index this read needs: recorded money by the provider's payment time."""

    collection_name = "payment_orders"
    indexes = (IndexModel([("payment.paid_at", ASCENDING)], name="money_recorded_at"),)

    async def paid_between(self, channel: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        cursor = self.collection.find({"payment.paid_at": {"$gte": start, "$lt": end}, "channel": channel})
        return [doc async for doc in cursor]

    async def refunds_accepted_between(self, channel: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        accepted = {"$gte": start, "$lt": end}
        cursor = self.collection.find({"refund.state": {"$in": list(_ACCEPTED)}, "channel": channel,
                                       "$or": [{"refund.accepted_at": accepted},
                                               {"refund.accepted_at": None, "refund.updated_at": accepted}]})
        return [doc async for doc in cursor]

    async def named(self, out_trade_nos: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for i in range(0, len(out_trade_nos), _CHUNK):
            cursor = self.collection.find({"_id": {"$in": list(out_trade_nos[i:i + _CHUNK])}})
            found += [doc async for doc in cursor]
        return found


class SchoolRefundLedger(Repository):
    """`payment_refunds` (refunds asked for by school finance) as reconciliation reads it: read only, no index of
    its own (refunds are few; one scan a day)."""

    collection_name = "payment_refunds"

    async def accepted_between(self, channel: str, start: datetime, end: datetime) -> list[str]:
        cursor = self.collection.find({"channel": channel, "accepted_at": {"$gte": start, "$lt": end}},
                                      {"out_trade_no": 1})
        return [doc["out_trade_no"] async for doc in cursor]

    async def of_orders(self, out_trade_nos: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for i in range(0, len(out_trade_nos), _CHUNK):
            cursor = self.collection.find({"out_trade_no": {"$in": list(out_trade_nos[i:i + _CHUNK])},
                                           "state": {"$in": list(_SENT)}})
            found += [doc async for doc in cursor]
        return found


def local_refunds(order: dict[str, Any], school_refunds: Iterable[dict[str, Any]] = ()) -> tuple[LocalRefund, ...]:
    refunds = [LocalRefund(r["out_refund_no"], r["amount_fen"], r["state"], r.get("accepted_at"))
               for r in school_refunds]
    # The automatic refund, and its earlier attempts when school finance tried it again (payments/late_refunds.py).
    for refund in reversed([*(order.get("refund_attempts") or []), order.get("refund") or {}]):
        if refund.get("out_refund_no"):
            accepted_at = refund.get("accepted_at") or (
                refund.get("updated_at") if refund.get("state") in _ACCEPTED else None)
            refunds.insert(0, LocalRefund(refund["out_refund_no"], refund["amount_fen"], refund["state"], accepted_at))
    return tuple(refunds)


def local_payment(order: dict[str, Any], school_refunds: Iterable[dict[str, Any]] = ()) -> LocalPayment:
    paid = order.get("payment") or {}
    return LocalPayment(out_trade_no=order["_id"], channel=order["channel"], amount_fen=order["amount_fen"],
                        state=order["state"], paid_at=paid.get("paid_at"), transaction_id=paid.get("transaction_id"),
                        refunds=local_refunds(order, school_refunds), school_id=order.get("school_id"))


def yesterday(now: datetime | None = None) -> date:
    """The Asia/Shanghai day before `now`: the day the morning run reconciles."""
    return ((now or datetime.now(SHANGHAI)).astimezone(SHANGHAI) - timedelta(days=1)).date()


@dataclass(frozen=True, slots=True)
class ChannelRun:
    channel: str
    status: str  # done | failed
    discrepancies: int = 0
    error: str | None = None
    retryable: bool = False


def _tolerant(channel: str, fetch: FetchBill) -> FetchBill:
    """Any provider failure of the bill call becomes BillUnavailable, which reconcile_day records."""
    async def fetch_bill(day: date) -> Bill:
        try:
            return await fetch(day)
        except BillUnavailable:
            raise
        except PaymentProviderError as exc:
            raise BillUnavailable(channel, exc.code, exc.message, status=exc.status,
                                  retryable=exc.retryable) from exc
    return fetch_bill


@dataclass
class Reconciler:
    ledger: PaidOrderLedger
    refunds: SchoolRefundLedger
    reports: ReconciliationReportRepository
    fetchers: Mapping[str, Callable[[date], Awaitable[Bill]]]  # channel → the adapter's trade_bill

    async def load_local(self, channel: str, day: date, out_trade_nos: Sequence[str]) -> Iterable[LocalPayment]:
        start, end = day_bounds(day)
        orders: dict[str, dict[str, Any]] = {}
        named = sorted({*out_trade_nos, *await self.refunds.accepted_between(channel, start, end)})
        for doc in (*await self.ledger.paid_between(channel, start, end),
                    *await self.ledger.refunds_accepted_between(channel, start, end),
                    *await self.ledger.named(named)):
            orders[doc["_id"]] = doc
        by_order: dict[str, list[dict[str, Any]]] = {}
        for refund in await self.refunds.of_orders(sorted(orders)):
            by_order.setdefault(refund["out_trade_no"], []).append(refund)
        return [local_payment(doc, by_order.get(doc["_id"], ())) for doc in orders.values()]

    async def run_day(self, day: date, channels: Iterable[str] = CHANNELS) -> list[ChannelRun]:
        """Reconcile and store each channel's report of `day`; a failed channel does not stop the others."""
        runs = []
        for channel in channels:
            try:
                result = await reconcile_day(channel, day, _tolerant(channel, self.fetchers[channel]),
                                             self.load_local, self.reports)
            except BillUnavailable as exc:
                runs.append(ChannelRun(channel, "failed", error=exc.code, retryable=True))
                continue
            runs.append(ChannelRun(channel, "done", len(result.discrepancies)))
        return runs
