"""Students leaving the roster (退学 / 转学): school finance records the date and the reason, and what the child
still owed is cancelled.

Why a state of the student and not a deletion: the child's paid bills, receipts, refunds and credit notes are
money that moved and must stay readable by the guardians linked to them (bills are read through the student,
payments/bills.py), and the roster import must still recognise the student number.

`leave` is ONE transaction: every unpaid bill of the student → cancelled with a `bill.cancelled` event for the
guardians (payments/bill_cancellation.py, the same code the withdrawal of a fee item uses), then the student
marked `left` (a conditional write: once), and the audit entry. Afterwards no bill is generated for the student
(`StudentRepository.billable` skips those who left), and a roster import that still lists them leaves them
left and says so row by row in its report (payments/roster_run.py). Asked again with the same date, kind and
reason it answers the same (nothing changes twice); with other values it is 409 STUDENT_ALREADY_LEFT.
Only the school's own finance staff may record it (accounts/scopes.py: SCHOOL, act).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from pydantic import BaseModel, ConfigDict, Field
from pymongo.asynchronous.client_session import AsyncClientSession

from accounts.scopes import Action, Actor
from affairs.audit import AuditRepository
from affairs.case_repository import Transactions
from core.clock import bson_time
from core.errors import VALIDATION_FAILED, AppError, FieldError
from core.outbox import OutboxRepository
from payments import fee_errors as FE
from payments.bill_cancellation import cancel_unpaid
from payments.bills import BillRepository
from payments.schools import Schools
from payments.students import StudentRepository

log = structlog.get_logger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


class LeaveKind(StrEnum):
    TRANSFER = "transfer"  # 转学
    WITHDRAWAL = "withdrawal"  # 退学


KIND_LABELS = {LeaveKind.TRANSFER: "转学", LeaveKind.WITHDRAWAL: "退学"}


class LeaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    left_on: date = Field(description="离校日期（不晚于今天）", examples=["2026-10-08"])
    kind: LeaveKind = Field(description="transfer 转学，withdrawal 退学")
    reason: str = Field(min_length=2, max_length=80, description="原因或去向，如“随父母工作调动转学至长沙市”（仅学校可见）")


class _AlreadyLeft(Exception):
    """The student was marked left while this transaction ran: nothing of it is kept."""


def cancel_reason(left_on: date, kind: LeaveKind) -> str:
    """What the cancelled bills (and the guardians' `bill.cancelled` message) say: the fact, not the reason."""
    return f"学生已于 {left_on:%Y-%m-%d} {KIND_LABELS[kind]}离校"


def same_leaving(left: dict[str, Any], body: LeaveIn) -> bool:
    return (left.get("on"), left.get("kind"), left.get("reason")) == (body.left_on.isoformat(), body.kind.value,
                                                                        body.reason)


@dataclass
class StudentLeaving:
    students: StudentRepository
    bills: BillRepository
    schools: Schools
    outbox: OutboxRepository
    audit: AuditRepository
    tx: Transactions

    async def leave(self, actor: Actor, school_id: str, student_id: str, body: LeaveIn, *,
                    now: datetime | None = None) -> tuple[dict[str, Any], bool]:
        """(the student, left now): unpaid bills cancelled, the student marked left, in one transaction."""
        await self.schools.get(actor, school_id, Action.ACT)
        student = await self.students.get(student_id)
        if student is None or student["school_id"] != school_id:
            raise AppError(FE.STUDENT_NOT_FOUND)
        at = bson_time(now)
        if body.left_on > at.astimezone(SHANGHAI).date():
            raise AppError(VALIDATION_FAILED, errors=[FieldError("left_on", "DATE_IN_FUTURE", "离校日期不能晚于今天")])
        if student.get("left"):
            return self._again(student, body), False
        reason = cancel_reason(body.left_on, body.kind)

        async def work(session: AsyncClientSession) -> dict[str, Any]:
            cancelled = await cancel_unpaid(self.bills, self.students, self.outbox, reason=reason, now=at,
                                            session=session, student_id=student_id)
            left = {"on": body.left_on.isoformat(), "kind": body.kind.value, "reason": body.reason,
                    "by": actor.staff_id, "at": at, "bills_cancelled": [b["_id"] for b in cancelled]}
            updated = await self.students.mark_left(student_id, left, session=session)
            if updated is None:
                raise _AlreadyLeft(student_id)
            await self.audit.append(actor=actor.staff_id or "system:school-fees", actor_department=actor.department_id,
                                    action="student.leave", kind="student", key=student_id, before={"left": None},
                                    after={"left_on": left["on"], "kind": left["kind"]},
                                    detail={"reason": body.reason, "bills_cancelled": len(cancelled),
                                            "revision": updated["version"]}, session=session)
            return updated

        try:
            updated = await self.tx.run(work)
        except _AlreadyLeft:
            return self._again(await self.students.get(student_id) or student, body), False
        log.info("student_left", student_id=student_id, school_id=school_id, kind=body.kind.value,
                 bills_cancelled=len(updated["left"]["bills_cancelled"]), staff_id=actor.staff_id)
        return updated, True

    @staticmethod
    def _again(student: dict[str, Any], body: LeaveIn) -> dict[str, Any]:
        """Asked again: the same leaving answers the student as it is; another one is a conflict."""
        if not same_leaving(student["left"], body):
            raise AppError(FE.STUDENT_ALREADY_LEFT, extra={"left_on": student["left"]["on"],
                                                           "kind": student["left"]["kind"]})
        return student
