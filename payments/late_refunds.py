"""School finance's side of the automatic refunds of late money (payments/order_refunds.py), and the overview of
every refund of the school by state.

Money that arrives for an order that cannot be paid (closed, failed, its bill paid by another order or
cancelled) is refunded automatically; no person asked for it, so before this a failed one was only an error in
the log. Now:
- `of_school`: the school's orders with late money and their refund (state, the provider's code and message
  when it failed), newest first; read by the school's finance staff (accounts/scopes.py, kind FEE).
- `retry`: a failed one is tried again under a NEW out_refund_no (`R<order id>-<attempt>`) only when the
  provider says it failed for good (payments/refunds.py `failed_for_good`: refused outright, or CLOSED); the
  caller names the attempt that failed (`out_refund_no`), so a repeated request finds it already replaced and
  answers the same attempt instead of making a third. The failed attempt is kept in `refund_attempts`; the new
  one is sent at once (and again by the sweep until the provider takes it). Audited as `late_refund.retry`.
- `board`: counts and amounts by state of both kinds (school finance's refunds, automatic ones) and the
  failed ones still to be handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from accounts.scopes import Action, Actor, authorize
from affairs.audit import AuditRepository
from affairs.case_repository import Transactions
from core.clock import bson_time
from core.errors import AppError
from payments import fee_errors as FE
from payments import refund_errors as RE
from payments.order_refunds import Refunder
from payments.orders import OrderRepository, RefundState
from payments.refund_service import fee_resource
from payments.refunds import RefundRepository, failed_for_good, failure_label
from payments.refunds import RefundState as SchoolRefundState
from payments.schools import SchoolRepository

log = structlog.get_logger(__name__)


def next_attempt(order: dict[str, Any], now: Any) -> dict[str, Any]:
    """The refund sub-document of the next attempt: same amount and reason, a new number, to be sent."""
    failed = order["refund"]
    attempt = len(order.get("refund_attempts") or []) + 2
    return {"state": RefundState.REQUESTED.value, "out_refund_no": f"R{order['_id']}-{attempt}",
            "amount_fen": failed["amount_fen"], "reason": failed["reason"], "requested_at": now, "updated_at": now,
            "provider_refund_id": None, "detail": None, "attempt": attempt}


@dataclass
class LateRefunds:
    orders: OrderRepository
    refunds: RefundRepository
    schools: SchoolRepository
    refunder: Refunder
    audit: AuditRepository
    tx: Transactions

    async def of_school(self, actor: Actor, school_id: str, states: list[str] | None = None) -> list[dict[str, Any]]:
        await self._school(actor, school_id, Action.READ)
        return await self.orders.late_of_school(school_id, refund_states=states)

    async def board(self, actor: Actor, school_id: str) -> dict[str, Any]:
        """{"school": {state: {count, amount_fen}}, "automatic": {…}, "failed": [refunds], "late_failed": [orders]}"""
        await self._school(actor, school_id, Action.READ)
        automatic: dict[str, dict[str, int]] = {}
        late = await self.orders.late_of_school(school_id, limit=1000)
        for order in late:
            state = (order.get("refund") or {}).get("state") or "none"
            entry = automatic.setdefault(state, {"count": 0, "amount_fen": 0})
            entry["count"] += 1
            entry["amount_fen"] += (order.get("refund") or {}).get("amount_fen") or 0
        failed = [r for r in await self.refunds.of_school(school_id, states=[SchoolRefundState.FAILED.value])
                  if not r.get("retried_by")]
        return {"school": await self.refunds.totals(school_id), "automatic": automatic, "failed": failed,
                "late_failed": [o for o in late if (o.get("refund") or {}).get("state") == RefundState.FAILED]}

    async def retry(self, actor: Actor, school_id: str, order_id: str,
                    failed_no: str) -> tuple[dict[str, Any], bool]:
        """(the order with its refund's next attempt, made now)."""
        order = await self._order(actor, school_id, order_id)

        async def work(session: AsyncClientSession) -> dict[str, Any] | None:
            current = await self.orders.get(order_id, session=session)
            assert current is not None
            refund = current.get("refund") or {}
            if failed_no in {a.get("out_refund_no") for a in current.get("refund_attempts") or []}:
                return None  # tried again already: that attempt is the answer
            if refund.get("out_refund_no") != failed_no:
                raise AppError(RE.REFUND_NOT_FOUND)
            if refund.get("state") != RefundState.FAILED:
                raise AppError(RE.REFUND_STATE_CONFLICT, extra={"state": refund.get("state")})
            if not failed_for_good(refund):
                raise AppError(RE.REFUND_RETRY_NOT_ALLOWED, extra={"failure": failure_label(refund)})
            changed = await self.orders.retry_refund(order_id, current["version"], next_attempt(current, bson_time()),
                                                     session=session)
            if changed is None:
                raise AppError(RE.REFUND_STATE_CONFLICT)
            return changed

        made = await self.tx.run(work)
        if made is None:
            return await self._order(actor, school_id, order_id), False
        await self.audit.append(actor=actor.staff_id or "system:refunds", actor_department=actor.department_id,
                                action="late_refund.retry", kind="order", key=order_id,
                                before={"out_refund_no": failed_no, "state": RefundState.FAILED.value},
                                after={"out_refund_no": made["refund"]["out_refund_no"],
                                       "state": made["refund"]["state"]},
                                detail={"amount_fen": made["refund"]["amount_fen"]})
        log.info("late_refund_retried", order_id=order_id, out_refund_no=made["refund"]["out_refund_no"],
                 staff_id=actor.staff_id, previous=order["refund"]["out_refund_no"])
        await self.refunder.carry_out(order_id)
        return await self._order(actor, school_id, order_id), True

    async def _school(self, actor: Actor, school_id: str, action: str) -> dict[str, Any]:
        school = await self.schools.get(school_id)
        if school is None:
            raise AppError(FE.SCHOOL_NOT_FOUND)
        authorize(actor, action, fee_resource(school_id, school["region_code"]))
        return school

    async def _order(self, actor: Actor, school_id: str, order_id: str) -> dict[str, Any]:
        """An order of the school with late money (another school's, or none: 404 — the scope check follows)."""
        order = await self.orders.get(order_id)
        if order is None or order["school_id"] != school_id or not order.get("late"):
            raise AppError(RE.LATE_PAYMENT_NOT_FOUND)
        authorize(actor, Action.ACT, fee_resource(order["school_id"], order["region_code"], order_id))
        return order
