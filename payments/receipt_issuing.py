"""Issuing the e-receipt of every paid order: exactly one, never lost, never in the way of the callback answer.

    settlement transaction ── order paid, bill paid, `bill.paid` event, receipt_queue[order id] ──▶ commit
        │                                                                                          │
        │ (callback, API process) background batch: issue now ◀─────────────────────────────────────┘
        └ beat, every ZSB_PAYMENT_SWEEP_INTERVAL_S (payments/receipt_tasks.py): issue every entry still queued

- The queue entry (`receipt_queue`, `_id` = order id = out_trade_no) is written in the SAME transaction that
  marks the order paid (`Settlement.on_paid`), so if the process dies after the commit the receipt is still
  owed and the sweep issues it. The entry is removed once the receipt exists.
- `ReceiptBook.issue` is idempotent per out_trade_no (unique index), so the background attempt, the sweep and
  an on-demand issue (a parent opening the receipt first) racing each other still make one receipt.
- The callback only queues the order for the process's background batch (no await): the provider gets its
  answer at once, and a burst of callbacks costs a few queries per batch of receipts, not several each. Orders
  settled by the sweep's query (the Celery worker, whose event loop ends with the run) get theirs from the
  receipt sweep, within one interval.
- Money recorded for an order that could not be paid (late money, refunded) gets no receipt: that order is
  never `paid`, and its queue entry is never written.
- The payer on the receipt is the person who paid: their real name when bound, and their masked phone
  (receipts store only masked values).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from accounts.people import Person, PersonRepository
from core.clock import bson_time
from core.mongo import Repository
from payments.bills import BillRepository
from payments.orders import OrderRepository, OrderState
from payments.receipts import Payment, Receipt, ReceiptBook, ReceiptItem

log = structlog.get_logger(__name__)
BATCH = 200
GRACE = timedelta(seconds=30)  # the sweep leaves younger entries to the callback's own background attempt
_SEASONS = {"spring": "春季学期", "autumn": "秋季学期"}


class ReceiptQueueRepository(Repository):
    """`receipt_queue`: receipts owed, one per paid order (`_id` = out_trade_no), removed once issued."""

    collection_name = "receipt_queue"
    indexes = (IndexModel([("stuck", ASCENDING), ("created_at", ASCENDING)], name="due"),)

    async def add(self, order_id: str, *, session: AsyncClientSession | None = None,
                  now: datetime | None = None) -> None:
        await self.collection.update_one(
            {"_id": order_id},
            {"$setOnInsert": {"created_at": bson_time(now), "attempts": 0, "stuck": False, "error": None}},
            upsert=True, session=session)

    async def due(self, before: datetime, limit: int) -> list[str]:
        cursor = self.collection.find({"stuck": False, "created_at": {"$lt": bson_time(before)}}, {"_id": 1})
        return [doc["_id"] async for doc in cursor.sort("created_at", ASCENDING).limit(limit)]

    async def done(self, order_id: str) -> None:
        await self.collection.delete_one({"_id": order_id})

    async def done_many(self, order_ids: list[str]) -> None:
        if order_ids:
            await self.collection.delete_many({"_id": {"$in": order_ids}})

    async def failed(self, order_id: str, error: str, *, stuck: bool) -> None:
        await self.collection.update_one({"_id": order_id}, {"$inc": {"attempts": 1},
                                                             "$set": {"error": error[:200], "stuck": stuck}})

    async def get(self, order_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": order_id})


def term_label(term: str) -> str:
    """`2026-autumn` → `2026年秋季学期` (the fee item's term as printed)."""
    year, _, season = term.partition("-")
    return f"{year}年{_SEASONS[season]}" if year.isdigit() and season in _SEASONS else term


def class_label(bill: dict[str, Any]) -> str:
    grade, name = bill.get("grade") or "", bill.get("class_name") or ""
    return name if name.startswith(grade) else f"{grade}{name}"


def payment_of(order: dict[str, Any], bill: dict[str, Any], payer: Person | None) -> Payment:
    """The receipt's input from a paid order, its bill and the person who paid (ValueError if incomplete)."""
    paid = order.get("payment") or {}
    paid_at = paid.get("paid_at")
    if order.get("state") != OrderState.PAID or not isinstance(paid_at, datetime):
        raise ValueError(f"order {order.get('_id')} is not paid")
    return Payment(
        out_trade_no=order["out_trade_no"], channel=order["channel"], transaction_id=paid.get("transaction_id") or "",
        paid_at=paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=UTC),
        payer_name=(payer.name or "") if payer else "", payer_phone=(payer.phone_masked or "") if payer else "",
        student_name=bill["student_name"], student_no=bill["student_no"], school_name=bill["school_name"],
        class_name=class_label(bill),
        items=(ReceiptItem(bill["item"]["name"], order["amount_fen"], term_label(bill["item"].get("term", ""))),),
        bill_id=bill["_id"])


@dataclass
class ReceiptIssuer:
    """Settlement's `on_paid` listener, the receipt sweep, and issue-on-demand."""

    book: ReceiptBook
    queue: ReceiptQueueRepository
    orders: OrderRepository
    bills: BillRepository
    people: PersonRepository
    _background: set[asyncio.Task[object]] = field(default_factory=set)
    _pending: dict[str, None] = field(default_factory=dict)  # order ids settled here, receipts not yet issued
    _drainer: asyncio.Task[None] | None = None

    # -- PaidListener (payments/order_settlement.py) --------------------------------------------------------
    async def record(self, order_id: str, session: AsyncClientSession) -> None:
        await self.queue.add(order_id, session=session)

    def committed(self, order_id: str, source: str) -> None:
        """Queue the order for the background batch (one drainer per process gathers what the callbacks of
        the moment settled: a burst of callbacks costs a few queries per batch, not several per receipt)."""
        if source != "callback":  # the sweep's worker loop ends with its run: the receipt sweep issues it
            return
        self._pending[order_id] = None
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain_pending())
            self._background.add(self._drainer)
            self._drainer.add_done_callback(self._background.discard)

    async def _drain_pending(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # let the callbacks settled at this moment join the batch
            batch = list(self._pending)[:BATCH]
            for order_id in batch:
                del self._pending[order_id]
            try:
                await self.issue_many(batch)
            except Exception as exc:  # noqa: BLE001 - the queue entries stay: the sweep issues them one by one
                log.warning("receipt_deferred", orders=len(batch), error=type(exc).__name__)

    async def drain(self) -> None:
        """Wait for background issues still running (tests; a graceful stop)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- issuing ----------------------------------------------------------------------------------------------
    async def issue_for(self, order_id: str) -> Receipt | None:
        """The receipt of a paid order, issued now if not yet (idempotent); None when the order is not paid."""
        existing = await self.book.of_order(order_id)
        if existing is not None:
            await self.queue.done(order_id)
            return existing
        order = await self.orders.get(order_id)
        if order is None or order["state"] != OrderState.PAID:
            await self.queue.done(order_id)
            return None
        bill = await self.bills.get(order["bill_id"])
        if bill is None:
            raise ValueError(f"order {order_id}: bill {order['bill_id']} is missing")
        receipt = await self.book.issue(payment_of(order, bill, await self.people.get(order["person_id"])))
        await self.queue.done(order_id)
        log.info("receipt_issued", order_id=order_id, number=receipt.number, bill_id=bill["_id"])
        return receipt

    async def issue_many(self, order_ids: list[str]) -> int:
        """`issue_for` for a batch: orders, bills and payers read in one query each, the receipts issued
        together (ReceiptBook.issue_many). An order that cannot make a receipt here is left in the queue for
        the sweep, which classifies it one by one (stuck, deferred). How many receipts exist now."""
        orders = await self.orders.by_ids(order_ids)
        paid = [o for o in orders.values() if o["state"] == OrderState.PAID]
        bills = await self.bills.by_ids(o["bill_id"] for o in paid)
        payers = {p.id: p for p in await self.people.get_many([o["person_id"] for o in paid])}
        payments = []
        for order in paid:
            try:
                payments.append(payment_of(order, bills[order["bill_id"]], payers.get(order["person_id"])))
            except (KeyError, ValueError):
                continue
        issued = await self.book.issue_many(payments)
        not_paid = [i for i in order_ids if i not in orders or orders[i]["state"] != OrderState.PAID]
        await self.queue.done_many([*issued, *not_paid])
        log.info("receipts_issued", orders=len(order_ids), receipts=len(issued))
        return len(issued)

    async def sweep(self, now: datetime | None = None, *, limit: int = BATCH) -> dict[str, int]:
        """Issue every receipt still owed (older than GRACE); counts by outcome."""
        return await sweep_owed(self.queue, self.issue_for, "receipt", now=now, limit=limit)


async def sweep_owed(queue: ReceiptQueueRepository, issue_for: Callable[[str], Awaitable[object | None]], what: str,
                     *, now: datetime | None, limit: int) -> dict[str, int]:
    """The beat sweep of a queue of documents owed (receipts, credit notes): issue each entry older than GRACE.
    Data that cannot make the document (ValueError) marks the entry stuck for a person to look at; anything else
    (the database, a timeout) leaves it for the next round. Counts by outcome, e.g. `receipt_issued`."""
    at = now or datetime.now(UTC)
    counts: Counter[str] = Counter()
    for key in await queue.due(at - GRACE, limit):
        try:
            counts[f"{what}_issued" if await issue_for(key) else f"{what}_none"] += 1
        except ValueError as exc:  # retrying will not help: a person looks
            log.error(f"{what}_not_issuable", key=key, error=str(exc)[:200])
            await queue.failed(key, str(exc), stuck=True)
            counts[f"{what}_stuck"] += 1
        except Exception as exc:  # noqa: BLE001 - the database or a timeout: next round
            log.warning(f"{what}_deferred", key=key, error=type(exc).__name__)
            await queue.failed(key, type(exc).__name__, stuck=False)
            counts[f"{what}_deferred"] += 1
    if counts:
        log.info(f"{what}_sweep_done", **dict(counts))
    return dict(counts)
