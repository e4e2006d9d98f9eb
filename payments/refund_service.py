"""School finance's refunds, the staff side: request, approve, reject, read (the rules: payments/refunds.py).

- Only `school_finance` staff of the bill's school act on its refunds; their colleagues read them, and staff of
  another school get 403 FORBIDDEN (accounts/scopes.py, kind FEE). A supervisor (电子监察) reads them.
- `request` takes an `Idempotency-Key`: the same key and body answer the same refund (201 first, then 200),
  another body is 422, a concurrent duplicate 409 (core/idempotency.py). The request and the reservation of its
  amount on the order are one transaction; the reservation is a conditional update, so requests made at the same
  moment can never together exceed what was paid (409 REFUND_AMOUNT_EXCEEDED).
- `approve` / `reject` are made by a second finance staff member (403 REFUND_SAME_PERSON for the requester).
  An approval is sent to the provider at once (payments/refund_settlement.py); a provider that does not answer
  leaves it approved and the sweep sends it again.
- `retry`: a refund that failed for good at the provider (payments/refunds.py `failed_for_good`) is tried again
  as a new refund with a new out_refund_no, already approved (the decision stands), sent at once. Once per
  failed refund (a conditional link `retried_by` in the same transaction as the new refund and its
  reservation), so a repeated request answers the same new refund; a refund the provider still holds
  (ABNORMAL) or whose fate is unknown is refused with 409 REFUND_RETRY_NOT_ALLOWED.
- Every step is in the append-only `audit_log` (`refund.request`, `refund.approve`, `refund.reject`,
  `refund.retry`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from accounts.scopes import Action, Actor, Kind, Resource, authorize
from affairs.audit import AuditRepository
from affairs.case_repository import Transactions
from core.clock import bson_time
from core.errors import AppError
from core.idempotency import IdempotencyRepository, StoredAnswer, fingerprint
from core.ids import new_id
from core.outbox import OutboxRepository
from payments import fee_errors as FE
from payments import refund_errors as RE
from payments.bills import BillRepository
from payments.order_refunds import RefundDesk
from payments.orders import OrderRepository, OrderState
from payments.refund_settlement import RefundSettlement, SettledListener
from payments.refunds import (
    RefundIn,
    RefundRepository,
    RefundState,
    check_amount,
    check_second_person,
    check_state,
    failed_for_good,
    failure_label,
    new_refund,
    retry_of,
)
from payments.schools import SchoolRepository

log = structlog.get_logger(__name__)


def fee_resource(school_id: str, region_code: str, record_id: str | None = None) -> Resource:
    """A school's money (bills, payments, refunds) as the object of a scope check: the school's finance staff."""
    return Resource(kind=Kind.FEE, id=record_id, department_ids=(school_id,), region_code=region_code)


@dataclass
class SchoolRefunds:
    refunds: RefundRepository
    orders: OrderRepository
    bills: BillRepository
    schools: SchoolRepository
    idempotency: IdempotencyRepository
    audit: AuditRepository
    settlement: RefundSettlement
    tx: Transactions

    # -- request -------------------------------------------------------------------------------------------------
    async def request(self, actor: Actor, staff_name: str, school_id: str, bill_id: str, body: RefundIn, *,
                      idempotency_key: str | None, raw: bytes) -> tuple[dict[str, Any], bool]:
        """(the refund, made now)."""
        scope = f"refund-request:{actor.staff_id}"
        if idempotency_key:
            stored = await self.idempotency.claim(scope, idempotency_key, fingerprint("POST", f"bill:{bill_id}", raw))
            if stored is not None:
                return await self.get(actor, school_id, stored.body["refund_id"]), False
        try:
            refund = await self._request(actor, staff_name, school_id, bill_id, body)
        except BaseException:
            if idempotency_key:
                await self.idempotency.release(scope, idempotency_key)
            raise
        if idempotency_key:
            await self.idempotency.complete(scope, idempotency_key, StoredAnswer(201, {"refund_id": refund["_id"]}))
        return refund, True

    async def _request(self, actor: Actor, staff_name: str, school_id: str, bill_id: str,
                       body: RefundIn) -> dict[str, Any]:
        bill = await self._bill(actor, Action.ACT, school_id, bill_id)
        order_id = (bill.get("payment") or {}).get("order_id")
        order = await self.orders.get(order_id) if order_id else None
        if order is None or order["state"] != OrderState.PAID:
            raise AppError(RE.REFUND_NOT_PAID)
        check_amount(order, body.amount_fen)
        doc = new_refund(refund_id=new_id(), order=order, bill=bill, amount_fen=body.amount_fen, reason=body.reason,
                         staff_id=actor.staff_id or "", staff_name=staff_name, now=bson_time())

        async def work(session: AsyncClientSession) -> None:
            if await self.orders.reserve_refund(order["_id"], body.amount_fen, session=session) is None:
                current = await self.orders.get(order["_id"], session=session) or order
                check_amount(current, body.amount_fen)
                raise AppError(RE.REFUND_AMOUNT_EXCEEDED)  # e.g. the order is no longer paid
            await self.refunds.insert(doc, session=session)

        await self.tx.run(work)
        await self._audit(actor, "refund.request", doc, before=None)
        log.info("school_refund_requested", refund_id=doc["_id"], order_id=order["_id"], bill_id=bill_id,
                 amount_fen=body.amount_fen, full=doc["full"], staff_id=actor.staff_id)
        return doc

    # -- decide --------------------------------------------------------------------------------------------------
    async def approve(self, actor: Actor, staff_name: str, school_id: str, refund_id: str) -> dict[str, Any]:
        refund = await self._decidable(actor, school_id, refund_id)
        now = bson_time()
        approved = await self.refunds.transition(refund_id, RefundState.APPROVED, {
            "decided_by": {"staff_id": actor.staff_id, "name": staff_name}, "decided_at": now, "updated_at": now},
            from_states=(RefundState.REQUESTED.value,))
        if approved is None:
            check_state(await self._load(school_id, refund_id), RefundState.REQUESTED)
            raise AppError(RE.REFUND_STATE_CONFLICT)
        await self._audit(actor, "refund.approve", approved, before=refund)
        log.info("school_refund_approved", refund_id=refund_id, staff_id=actor.staff_id)
        await self.settlement.send(refund_id)
        return await self._load(school_id, refund_id)

    async def reject(self, actor: Actor, staff_name: str, school_id: str, refund_id: str,
                     reason: str) -> dict[str, Any]:
        refund = await self._decidable(actor, school_id, refund_id)

        async def work(session: AsyncClientSession) -> dict[str, Any] | None:
            now = bson_time()
            rejected = await self.refunds.transition(refund_id, RefundState.REJECTED, {
                "decided_by": {"staff_id": actor.staff_id, "name": staff_name}, "decided_at": now,
                "reject_reason": reason, "updated_at": now}, session=session)
            if rejected is not None:
                await self.orders.count_refund(rejected["order_id"], reserved_fen=-rejected["amount_fen"],
                                               session=session)
            return rejected

        rejected = await self.tx.run(work)
        if rejected is None:
            check_state(await self._load(school_id, refund_id), RefundState.REQUESTED)
            raise AppError(RE.REFUND_STATE_CONFLICT)
        await self._audit(actor, "refund.reject", rejected, before=refund)
        log.info("school_refund_rejected", refund_id=refund_id, staff_id=actor.staff_id)
        return rejected

    # -- try a failed one again ---------------------------------------------------------------------------------
    async def retry(self, actor: Actor, staff_name: str, school_id: str,
                    refund_id: str) -> tuple[dict[str, Any], bool]:
        """(the next attempt, made now): a new refund for one that failed for good, sent at once; asked again,
        the attempt already made."""
        failed = await self._load(school_id, refund_id)
        authorize(actor, Action.ACT, fee_resource(failed["school_id"], failed["region_code"], refund_id))
        if failed.get("retried_by"):
            return await self._load(school_id, failed["retried_by"]), False
        check_state(failed, RefundState.FAILED)
        if not failed_for_good(failed.get("failure")):
            raise AppError(RE.REFUND_RETRY_NOT_ALLOWED, extra={"failure": failure_label(failed.get("failure"))})
        doc = retry_of(failed, refund_id=new_id(), staff_id=actor.staff_id or "", staff_name=staff_name,
                       now=bson_time())

        async def work(session: AsyncClientSession) -> dict[str, Any] | None:
            if await self.refunds.mark_retried(refund_id, doc["_id"], session=session) is None:
                return None  # retried a moment ago by someone else
            if await self.orders.reserve_refund(failed["order_id"], failed["amount_fen"], session=session) is None:
                current = await self.orders.get(failed["order_id"], session=session) or {}
                check_amount(current, failed["amount_fen"])
                raise AppError(RE.REFUND_AMOUNT_EXCEEDED)
            await self.refunds.insert(doc, session=session)
            return doc

        made = await self.tx.run(work)
        if made is None:
            again = await self._load(school_id, refund_id)
            if not again.get("retried_by"):
                check_state(again, RefundState.FAILED)
                raise AppError(RE.REFUND_STATE_CONFLICT)
            return await self._load(school_id, again["retried_by"]), False
        await self._audit(actor, "refund.retry", made, before=failed)
        log.info("school_refund_retried", refund_id=made["_id"], retry_of=refund_id, attempt=made["attempt"],
                 staff_id=actor.staff_id)
        await self.settlement.send(made["_id"])
        return await self._load(school_id, made["_id"]), True

    async def _decidable(self, actor: Actor, school_id: str, refund_id: str) -> dict[str, Any]:
        refund = await self._load(school_id, refund_id)
        authorize(actor, Action.ACT, fee_resource(refund["school_id"], refund["region_code"], refund_id))
        check_second_person(refund, actor.staff_id)
        check_state(refund, RefundState.REQUESTED)
        return refund

    # -- read ----------------------------------------------------------------------------------------------------
    async def get(self, actor: Actor, school_id: str, refund_id: str) -> dict[str, Any]:
        refund = await self._load(school_id, refund_id)
        authorize(actor, Action.READ, fee_resource(refund["school_id"], refund["region_code"], refund_id))
        return refund

    async def of_school(self, actor: Actor, school_id: str, states: list[str] | None = None) -> list[dict[str, Any]]:
        school = await self.schools.get(school_id)
        if school is None:
            raise AppError(FE.SCHOOL_NOT_FOUND)
        authorize(actor, Action.READ, fee_resource(school_id, school["region_code"]))
        return await self.refunds.of_school(school_id, states=states)

    async def of_bill(self, actor: Actor, school_id: str, bill_id: str) -> list[dict[str, Any]]:
        await self._bill(actor, Action.READ, school_id, bill_id)
        return await self.refunds.of_bill(bill_id)

    async def _bill(self, actor: Actor, action: str, school_id: str, bill_id: str) -> dict[str, Any]:
        bill = await self.bills.get(bill_id)
        if bill is None or bill["school_id"] != school_id:
            raise AppError(FE.BILL_NOT_FOUND)
        authorize(actor, action, fee_resource(bill["school_id"], bill["region_code"], bill_id))
        return bill

    async def _load(self, school_id: str, refund_id: str) -> dict[str, Any]:
        """The refund of that school (another school's, or a missing one: 404 — the scope check follows)."""
        refund = await self.refunds.get(refund_id)
        if refund is None or refund["school_id"] != school_id:
            raise AppError(RE.REFUND_NOT_FOUND)
        return refund

    async def _audit(self, actor: Actor, action: str, refund: dict[str, Any], *,
                     before: dict[str, Any] | None) -> None:
        def view(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if doc is None else {"state": doc["state"], "amount_fen": doc["amount_fen"]}

        await self.audit.append(actor=actor.staff_id or "system:refunds", actor_department=actor.department_id,
                                action=action, kind="refund", key=refund["_id"], before=view(before),
                                after=view(refund), detail={"order_id": refund["order_id"],
                                                            "reason": refund.get("reject_reason") or refund["reason"],
                                                            "retry_of": refund.get("retry_of")})


def build_refunds(client: AsyncMongoClient[dict[str, Any]], db_name: str, desk: RefundDesk, *,
                  query_after: timedelta, on_settled: SettledListener | None = None) -> SchoolRefunds:
    """The staff side and its settlement, composed (payments/payment_orders.py)."""
    db = client[db_name]
    refunds, orders, bills = RefundRepository(db), OrderRepository(db), BillRepository(db)
    settlement = RefundSettlement(refunds, orders, bills, OutboxRepository(db), desk, Transactions(client),
                                  query_after=query_after, on_settled=on_settled)
    return SchoolRefunds(refunds, orders, bills, SchoolRepository(db), IdempotencyRepository(db),
                         AuditRepository(db), settlement, Transactions(client))
