"""Settling orders: the one place an order becomes paid or closed, whoever says so (a callback or a query).

`settle(Paid)` applies "the provider says this order's money arrived" exactly once:
1. the facts are checked against the order (unknown out_trade_no, other provider, other appid, other amount →
   `CallbackRejected`, nothing changes);
2. an order already paid, or whose late money is already recorded, is a duplicate: nothing changes;
3. otherwise ONE MongoDB transaction moves the order created/paying → paid and the bill unpaid → paid
   (`Bills.mark_paid`, which records the `bill.paid` outbox event in the same transaction). The order's
   partial unique index `bill_paid_once` and the bill's conditional write mean that of two orders of one bill
   at most one commits as paid. The same transaction records the receipt still to issue (`on_paid`,
   payments/receipt_issuing.py), so a crash right after the commit loses no receipt;
4. when that cannot be (the order was closed or failed, or the bill was paid by another order or cancelled),
   a second transaction records the money on the order (`payment`, `late`), closes it if still open, and
   requests an automatic refund (payments/order_refunds.py carries it out, right away and from the sweep).

Concurrent deliveries of one notice conflict on the order document; the driver retries the loser's
transaction, which then finds the order paid: a duplicate. Within one process they do not even meet there:
deliveries of one order are settled one after the other (a lock per order), and an order once seen settled
(paid, or its late money recorded: both final) is remembered with the facts `_check` needs, so a duplicate is
answered without a database round trip — still checked against the order (another amount or appid is refused).
Across processes the database alone decides, as before. Nothing here talks to a provider.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from affairs.case_repository import Transactions
from core.clock import bson_time
from core.errors import AppError
from payments import fee_errors as FE
from payments.bill_service import Bills
from payments.errors import CallbackRejected
from payments.orders import OPEN, OrderRepository, OrderState, RefundState

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Paid:
    """What a provider says about a payment, already authenticated (callback verified, or our own query)."""

    provider: str
    out_trade_no: str
    transaction_id: str  # WeChat Pay transaction_id / Alipay trade_no
    amount_fen: int
    source: str  # "callback" | "query"
    paid_at: datetime | None = None
    appid: str | None = None  # WeChat Pay: the appid the payment was made in
    notice_id: str | None = None


class Outcome(StrEnum):
    APPLIED = "applied"  # order and bill paid now
    DUPLICATE = "duplicate"  # already applied or recorded: nothing changed
    REFUND = "refund_requested"  # money arrived for an order that cannot be paid: recorded, refund requested


class PaidListener(Protocol):
    """Told of every order that becomes paid (payments/receipt_issuing.py: its e-receipt)."""

    async def record(self, order_id: str, session: AsyncClientSession) -> None:
        """Inside the transaction that pays the order: write what must not be lost with it."""

    def committed(self, order_id: str, source: str) -> None:
        """After that transaction committed: start follow-up work without waiting for it."""


class _CannotPay(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Stale(Exception):
    """The order changed between the transaction's read and its write: run it again."""


@dataclass
class Settlement:
    orders: OrderRepository
    bills: Bills
    tx: Transactions  # retry_on _Stale (see `settlement_transactions`)
    on_paid: PaidListener | None = None
    remember: int = 100_000  # settled orders remembered by this process (their facts: a few dozen bytes each)
    _settled: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict, repr=False)
    _locks: dict[str, tuple[asyncio.Lock, list[int]]] = field(default_factory=dict, repr=False)

    async def settle(self, paid: Paid) -> Outcome:
        key = paid.out_trade_no
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:  # one delivery of an order at a time here: no transaction conflicts among them
                return await self._settle(paid)
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[key]

    def _remember(self, order: dict[str, Any]) -> None:
        """A final fact (paid, or late money recorded: neither ever changes back) with what `_check` reads."""
        self._settled[order["_id"]] = {k: order[k] for k in ("_id", "channel", "appid", "amount_fen", "state")}
        if len(self._settled) > self.remember:
            self._settled.popitem(last=False)

    async def _settle(self, paid: Paid) -> Outcome:
        known = self._settled.get(paid.out_trade_no)
        if known is not None:
            self._check(known, paid)
            log.info("payment_duplicate", provider=paid.provider, order_id=known["_id"], source=paid.source,
                     state=known["state"])
            return Outcome.DUPLICATE
        order = await self.orders.get(paid.out_trade_no)
        self._check(order, paid)
        assert order is not None
        if order["state"] == OrderState.PAID or order.get("payment"):
            self._remember(order)
            log.info("payment_duplicate", provider=paid.provider, order_id=order["_id"], source=paid.source,
                     state=order["state"])
            return Outcome.DUPLICATE
        try:
            outcome = await self.tx.run(lambda session: self._pay(order, paid, session))
        except _CannotPay as exc:
            return await self._late(order["_id"], paid, exc.reason)
        except DuplicateKeyError:  # another order of this bill committed as paid first
            return await self._late(order["_id"], paid, "bill_paid_by_another_order")
        except AppError as exc:
            if exc.error is not FE.BILL_STATE_CONFLICT:
                raise
            reason = "bill_cancelled" if exc.extra.get("state") == "cancelled" else "bill_paid_by_another_order"
            return await self._late(order["_id"], paid, reason)
        self._remember(order | {"state": OrderState.PAID.value if outcome is Outcome.APPLIED else "settled"})
        log.info("payment_settled" if outcome is Outcome.APPLIED else "payment_duplicate", provider=paid.provider,
                 order_id=order["_id"], bill_id=order["bill_id"], source=paid.source, amount_fen=paid.amount_fen)
        if outcome is Outcome.APPLIED and self.on_paid is not None:
            self.on_paid.committed(order["_id"], paid.source)
        return outcome

    def _check(self, order: dict[str, Any] | None, paid: Paid) -> None:
        if order is None:
            raise CallbackRejected(paid.provider, "unknown_out_trade_no", paid.out_trade_no[:64])
        if order["channel"] != paid.provider:
            raise CallbackRejected(paid.provider, "wrong_provider", f"order is {order['channel']}")
        if paid.appid is not None and paid.appid != order["appid"]:
            raise CallbackRejected(paid.provider, "appid_mismatch", f"order {order['_id']}")
        if paid.amount_fen != order["amount_fen"]:
            raise CallbackRejected(paid.provider, "amount_mismatch",
                                   f"order {order['_id']}: {paid.amount_fen} fen, expected {order['amount_fen']}")

    def _payment(self, paid: Paid, now: datetime) -> dict[str, Any]:
        return {"provider": paid.provider, "transaction_id": paid.transaction_id, "amount_fen": paid.amount_fen,
                "paid_at": bson_time(paid.paid_at) if paid.paid_at else now, "source": paid.source,
                "notice_id": paid.notice_id, "recorded_at": now}

    async def _pay(self, order: dict[str, Any], paid: Paid, session: AsyncClientSession) -> Outcome:
        """The conditional write first (open, no money recorded); only when it does not apply is the order read
        again to say why. `order` is the read before the transaction: its bill never changes."""
        order_id = order["_id"]
        now = bson_time()
        payment = self._payment(paid, now)
        updated = await self.orders.transition(order_id, OPEN, OrderState.PAID,
                                               {"payment": payment, "updated_at": now}, session=session,
                                               unpaid_only=True)
        if updated is None:
            current = await self.orders.get(order_id, session=session)
            assert current is not None
            if current["state"] == OrderState.PAID or current.get("payment"):
                return Outcome.DUPLICATE
            if current["state"] not in OPEN:
                raise _CannotPay(f"order_{current['state']}")
            raise _Stale(order_id)
        await self.bills.mark_paid(order["bill_id"], session=session, now=now, payment={
            "provider": paid.provider, "order_id": order_id, "transaction_id": paid.transaction_id,
            "amount_fen": paid.amount_fen, "paid_at": payment["paid_at"]})
        if self.on_paid is not None:
            await self.on_paid.record(order_id, session)
        return Outcome.APPLIED

    async def _late(self, order_id: str, paid: Paid, reason: str) -> Outcome:
        async def work(session: AsyncClientSession) -> Outcome:
            order = await self.orders.get(order_id, session=session)
            assert order is not None
            if order.get("payment"):
                return Outcome.DUPLICATE
            now = bson_time()
            changes: dict[str, Any] = {
                "payment": self._payment(paid, now), "late": True, "late_reason": reason, "updated_at": now,
                "refund": {"state": RefundState.REQUESTED.value, "out_refund_no": f"R{order_id}",
                           "amount_fen": paid.amount_fen, "reason": "账单已缴清或订单已关闭，原路退回",
                           "requested_at": now, "updated_at": now, "provider_refund_id": None, "detail": None}}
            if order["state"] in OPEN:
                changes.update(state=OrderState.CLOSED.value, closed_at=now, closed_reason=reason)
            if await self.orders.record_late(order_id, order["version"], changes, session=session) is None:
                raise _Stale(order_id)
            return Outcome.REFUND

        outcome = await self.tx.run(work)
        if outcome is Outcome.REFUND:
            log.warning("payment_late_refund_requested", provider=paid.provider, order_id=order_id, reason=reason,
                        source=paid.source, amount_fen=paid.amount_fen)
        return outcome

    async def close(self, order_id: str, reason: str, *, failed: bool = False) -> dict[str, Any] | None:
        """An open order → closed (expired, closed at the provider) or failed; None when it is no longer open."""
        now = bson_time()
        to = OrderState.FAILED if failed else OrderState.CLOSED
        changes = {"failed_reason": reason} if failed else {"closed_at": now, "closed_reason": reason}
        closed = await self.orders.transition(order_id, OPEN, to, {**changes, "updated_at": now})
        if closed is not None:
            log.info("payment_order_closed", order_id=order_id, state=to.value, reason=reason)
        return closed


def settlement_transactions(client: Any) -> Transactions:
    return Transactions(client, retry_on=_Stale)
