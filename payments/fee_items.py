"""The life of a fee item: the school drafts it, two departments review it, the school publishes or withdraws it.

The rules are in payments/fee_item_model.py; this module applies them. Every step is one MongoDB transaction:
read the item, check who may do it (accounts/scopes.py: the school's finance staff manage, a staff member of the
education or the price department reviews its own side), check the state and that the caller's `revision` is
the current one (409 CONFLICT otherwise: they approve exactly what they saw), write the change conditionally on
that revision, append the audit entry and the outbox events (who must now act, or who was affected). Publishing
queues bill generation (payments/bill_generation.py); withdrawing cancels the unpaid bills in the same
transaction and tells the linked guardians.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession

from accounts.scopes import Action, Actor, Kind, Resource, authorize, is_allowed
from affairs.audit import AuditRepository
from affairs.case_repository import Transactions
from core.clock import bson_time
from core.errors import CONFLICT, FORBIDDEN, VALIDATION_FAILED, AppError, FieldError
from core.ids import new_id
from core.outbox import OutboxEvent, OutboxRepository, Recipient
from payments import fee_errors as FE
from payments.bill_cancellation import cancel_unpaid
from payments.bill_generation import BILLS_QUEUE, BILLS_TASK
from payments.bills import BillRepository
from payments.classes import ClassRepository
from payments.fee_item_model import (
    SIDE_LABELS,
    STATE_LABELS,
    Decision,
    FeeItemIn,
    FeeItemState,
    Side,
    TransitionRefused,
    check_allowed,
    pending_reviews,
    review_outcome,
    snapshot,
)
from payments.fee_item_model import Action as Step
from payments.fee_item_repository import FeeItemRepository
from payments.schools import Schools, overseers
from payments.students import StudentRepository

log = structlog.get_logger(__name__)
Publish = Callable[..., Awaitable[str]]
REQUEUE_AFTER = timedelta(minutes=1)


def item_resource(item: dict[str, Any], *, departments: tuple[str, ...] | None = None) -> Resource:
    """(school, education department, price department), or only the departments given (one reviewing side)."""
    reviews = item["reviews"]
    owners = departments if departments is not None else (reviews["education"]["department_code"],
                                                           reviews["price"]["department_code"])
    return Resource(kind=Kind.FEE_ITEM, id=item.get("_id"), department_ids=(item["school_id"], *owners),
                    region_code=item["region_code"])


@dataclass
class Change:
    """What a step writes besides the audit entry: fields, a push, events to record."""

    changes: dict[str, Any]
    push: dict[str, Any] | None = None
    events: list[OutboxEvent] = field(default_factory=list)


Build = Callable[[dict[str, Any], datetime, AsyncClientSession], Awaitable[Change]]


@dataclass
class FeeItems:
    items: FeeItemRepository
    schools: Schools
    classes: ClassRepository
    students: StudentRepository
    bills: BillRepository
    audit: AuditRepository
    outbox: OutboxRepository
    tx: Transactions
    publish: Publish

    # -- reads ------------------------------------------------------------------------------------------------
    async def get(self, actor: Actor, item_id: str) -> dict[str, Any]:
        item = await self._load(item_id)
        authorize(actor, Action.READ, item_resource(item))
        bills = item.get("bills") or {}
        if bills.get("state") == "pending" and bills["requested_at"] < bson_time() - REQUEUE_AFTER:
            await self._queue_bills(item_id)  # the task was lost: the claim makes a duplicate harmless
        return item

    async def of_school(self, actor: Actor, school_id: str, states: list[str] | None) -> list[dict[str, Any]]:
        school = await self.schools.load(school_id)
        probe = {"school_id": school_id, "region_code": school["region_code"], "reviews": _reviews_of(school)}
        authorize(actor, Action.READ, item_resource(probe))
        return await self.items.of_school(school_id, states=states)

    async def awaiting_review(self, actor: Actor) -> list[dict[str, Any]]:
        """Items waiting for the actor's department (education or price side) to review."""
        if not actor.is_staff or not actor.department_id:
            raise AppError(FORBIDDEN)
        found = [*await self.items.awaiting(Side.EDUCATION.value, actor.department_id),
                 *await self.items.awaiting(Side.PRICE.value, actor.department_id)]
        return [item for item in found if is_allowed(actor, Action.ACT, item_resource(
            item, departments=(actor.department_id,)))]

    # -- the school's steps -----------------------------------------------------------------------------------
    async def create(self, actor: Actor, school_id: str, body: FeeItemIn) -> dict[str, Any]:
        school = await self.schools.load(school_id)
        probe = {"school_id": school_id, "region_code": school["region_code"], "reviews": _reviews_of(school)}
        authorize(actor, Action.MANAGE, item_resource(probe))
        classes = await self._targets(school_id, body)
        now = bson_time()
        reviews = pending_reviews()
        for side, department in ((Side.EDUCATION, school["education_department"]),
                                 (Side.PRICE, school["price_department"])):
            reviews[side.value].update(department_code=department["code"], department_name=department["name"])
        doc = {
            "_id": new_id(), "school_id": school_id, "school_name": school["name"],
            "region_code": school["region_code"], **_content(body), "classes": classes,
            "state": FeeItemState.DRAFT.value, "revision": 0, "round": 0, "reviews": reviews, "rejections": [],
            "created_by": actor.staff_id, "created_at": now, "updated_at": now, "submitted_at": None,
            "approved_at": None, "published_at": None, "withdrawn_at": None, "withdraw_reason": None,
            "bills": {"state": "none", "generated": 0, "attempts": 0},
        }

        async def work(session: AsyncClientSession) -> None:
            await self.items.insert(doc, session=session)
            await self._audit(actor, "fee_item.create", None, doc, session)

        await self.tx.run(work)
        return doc

    async def edit(self, actor: Actor, item_id: str, revision: int, body: FeeItemIn) -> dict[str, Any]:
        item = await self._load(item_id)
        authorize(actor, Action.MANAGE, item_resource(item))
        classes = await self._targets(item["school_id"], body)

        async def build(doc: dict[str, Any], now: datetime, session: AsyncClientSession) -> Change:
            check_allowed(doc["state"], Step.EDIT)
            return Change({**_content(body), "classes": classes})

        return await self._step(actor, item_id, revision, "fee_item.edit", Action.MANAGE, build)

    async def submit(self, actor: Actor, item_id: str, revision: int) -> dict[str, Any]:
        async def build(doc: dict[str, Any], now: datetime, session: AsyncClientSession) -> Change:
            check_allowed(doc["state"], Step.SUBMIT)
            reviews = {side: {**review, "decision": Decision.PENDING.value, "by": None, "at": None, "reason": None} for side, review in doc["reviews"].items()}
            departments = tuple(Recipient("department", r["department_code"]) for r in reviews.values())
            event = self._event("fee_item.submitted", doc, departments, {"action_label": "待联审"})
            return Change({"state": FeeItemState.UNDER_REVIEW.value, "round": doc["round"] + 1, "reviews": reviews,
                           "submitted_at": now}, events=[event])

        return await self._step(actor, item_id, revision, "fee_item.submit", Action.MANAGE, build)

    async def publish_item(self, actor: Actor, item_id: str, revision: int) -> dict[str, Any]:
        async def build(doc: dict[str, Any], now: datetime, session: AsyncClientSession) -> Change:
            check_allowed(doc["state"], Step.PUBLISH)
            return Change({"state": FeeItemState.PUBLISHED.value, "published_at": now, "published_by": actor.staff_id,
                           "bills": {"state": "pending", "requested_at": now, "generated": 0, "attempts": 0}})

        after = await self._step(actor, item_id, revision, "fee_item.publish", Action.MANAGE, build)
        await self._queue_bills(item_id)
        return after

    async def withdraw(self, actor: Actor, item_id: str, revision: int, reason: str) -> dict[str, Any]:
        async def build(doc: dict[str, Any], now: datetime, session: AsyncClientSession) -> Change:
            check_allowed(doc["state"], Step.WITHDRAW)
            cancelled = await cancel_unpaid(self.bills, self.students, self.outbox, reason=reason, now=now,
                                            session=session, item_id=item_id)  # with their `bill.cancelled` events
            return Change({"state": FeeItemState.WITHDRAWN.value, "withdrawn_at": now, "withdrawn_by": actor.staff_id,
                           "withdraw_reason": reason, "bills.cancelled": len(cancelled)})

        return await self._step(actor, item_id, revision, "fee_item.withdraw", Action.MANAGE, build)

    # -- the departments' steps -------------------------------------------------------------------------------
    async def review(self, actor: Actor, item_id: str, revision: int, *, approve: bool,
                     reason: str | None = None) -> dict[str, Any]:
        item = await self._load(item_id)
        side = _side_of(actor, item)

        async def build(doc: dict[str, Any], now: datetime, session: AsyncClientSession) -> Change:
            check_allowed(doc["state"], Step.REVIEW)
            target = review_outcome(doc["reviews"], side, approve)
            decided = {"decision": (Decision.APPROVED if approve else Decision.REJECTED).value,
                       "by": actor.staff_id, "at": now, "reason": reason}
            changes: dict[str, Any] = {f"reviews.{side.value}.{k}": v for k, v in decided.items()}
            changes["state"] = target.value
            school = (Recipient("staff", doc["created_by"]),) if doc.get("created_by") else ()
            if not approve:
                event = self._event("fee_item.rejected", doc, school, {"side_label": SIDE_LABELS[side],
                                                                        "reason": reason})
                return Change(changes, push={"rejections": {"round": doc["round"], "side": side.value,
                                                            "reason": reason, "by": actor.staff_id, "at": now}},
                              events=[event] if school else [])
            if target == FeeItemState.APPROVED:
                changes["approved_at"] = now
                event = self._event("fee_item.approved", doc, school, {"action_label": "已通过联审，可以发布"})
                return Change(changes, events=[event] if school else [])
            return Change(changes)

        action = "fee_item.approve" if approve else "fee_item.reject"
        return await self._step(actor, item_id, revision, action, Action.ACT, build, side=side)

    # -- helpers ----------------------------------------------------------------------------------------------
    async def _step(self, actor: Actor, item_id: str, revision: int, audit_action: str, scope_action: str,
                    build: Build, *, side: Side | None = None) -> dict[str, Any]:
        async def work(session: AsyncClientSession) -> dict[str, Any]:
            doc = await self.items.get(item_id, session=session)
            if doc is None:
                raise AppError(FE.FEE_ITEM_NOT_FOUND)
            departments = (doc["reviews"][side.value]["department_code"],) if side else None
            authorize(actor, scope_action, item_resource(doc, departments=departments))
            if doc["revision"] != revision:
                raise AppError(CONFLICT, extra={"revision": doc["revision"]})
            now = bson_time()
            try:
                change = await build(doc, now, session)
            except TransitionRefused as refused:
                raise AppError(FE.FEE_ITEM_STATE_CONFLICT, errmsg=refused.reason,
                               extra={"state": refused.state.value, "state_label": STATE_LABELS[refused.state]}
                               ) from None
            after = await self.items.update(item_id, revision, change.changes, session=session, push=change.push)
            if after is None:
                raise AppError(CONFLICT)
            await self._audit(actor, audit_action, doc, after, session)
            for event in change.events:
                await self.outbox.add(event, session=session, now=now)
            return after

        after = await self.tx.run(work)
        log.info("fee_item_changed", fee_item_id=item_id, action=audit_action, state=after["state"],
                 revision=after["revision"], by=actor.staff_id)
        return after

    async def _load(self, item_id: str) -> dict[str, Any]:
        item = await self.items.get(item_id)
        if item is None:
            raise AppError(FE.FEE_ITEM_NOT_FOUND)
        return item

    async def _targets(self, school_id: str, body: FeeItemIn) -> list[dict[str, str]]:
        """The classes named by the item, checked against the school's roster (422 for unknown ones)."""
        classes = await self.classes.of_school(school_id)
        grades = {c["grade"] for c in classes}
        by_id = {c["_id"]: c for c in classes}
        problems = [FieldError(f"grades.{i}", "GRADE_UNKNOWN", f"本校花名册中没有「{g}」")
                    for i, g in enumerate(body.grades) if g not in grades]
        problems += [FieldError(f"class_ids.{i}", "CLASS_UNKNOWN", "本校没有这个班级")
                     for i, c in enumerate(body.class_ids) if c not in by_id]
        if problems:
            raise AppError(VALIDATION_FAILED, errors=problems)
        return [{"id": c, "grade": by_id[c]["grade"], "name": by_id[c]["name"]} for c in body.class_ids]

    async def _queue_bills(self, item_id: str) -> None:
        try:
            await self.publish(BILLS_TASK, item_id, queue=BILLS_QUEUE)
        except Exception:  # the beat sweep (payments/bill_tasks.py) queues it again
            log.warning("bills_not_queued", fee_item_id=item_id, exc_info=True)

    def _event(self, topic: str, doc: dict[str, Any], recipients: tuple[Recipient, ...],
               data: dict[str, Any]) -> OutboxEvent:
        return OutboxEvent(topic=topic, key=f"fee_item:{doc['_id']}:r{doc['revision'] + 1}", recipients=recipients,
                           data={"fee_item_id": doc["_id"], "fee_item_name": doc["name"], "school_name": doc["school_name"],
                                 "amount_fen": doc["amount_fen"], "region_code": doc["region_code"], **data},
                           subject={"kind": "fee_item", "id": doc["_id"]})

    async def _audit(self, actor: Actor, action: str, before: dict[str, Any] | None, after: dict[str, Any],
                     session: AsyncClientSession) -> None:
        await self.audit.append(actor=actor.staff_id or "system:school-fees", actor_department=actor.department_id,
                                action=action, kind="fee_item", key=after["_id"], before=snapshot(before),
                                after=snapshot(after), detail={"revision": after["revision"]}, session=session)


def _content(body: FeeItemIn) -> dict[str, Any]:
    return body.model_dump(include={"name", "amount_fen", "term", "grades", "class_ids", "basis", "description"})


def _reviews_of(school: dict[str, Any]) -> dict[str, dict[str, str]]:
    education, price = overseers(school)
    return {"education": {"department_code": education}, "price": {"department_code": price}}


def _side_of(actor: Actor, item: dict[str, Any]) -> Side:
    """Which review the actor's department gives; 403 when it is neither reviewing department."""
    for side in Side:
        if actor.department_id and item["reviews"][side.value]["department_code"] == actor.department_id:
            return side
    authorize(actor, Action.ACT, item_resource(item, departments=()))  # logs the refusal, raises 403
    raise AppError(FORBIDDEN)
