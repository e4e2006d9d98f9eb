"""One transition of a case, written as one unit: new state, history event (hash-chained), outbox events.

Every workflow step (the applicant's and the staff's) goes through `record`, inside the caller's transaction:
the state machine decides whether the step is allowed, the case update is conditional on the version read (a
concurrent step loses with 409), and the history event and the notifications it causes are stored with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from affairs import case_chain
from affairs import errors as AF
from affairs.case_repository import CaseEventRepository, CaseRepository
from affairs.case_states import LABELS, Actor, CaseAction, CaseState, TransitionRefused, next_state
from core.errors import AppError
from core.outbox import OutboxEvent, OutboxRepository, Recipient


@dataclass(frozen=True, slots=True)
class Who:
    """Who fires a step: the applicant, a staff member (with role and department) or the system."""

    kind: Actor
    id: str | None = None
    role: str | None = None
    department_code: str | None = None
    name: str | None = None

    def as_doc(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "id": self.id, "role": self.role,
                "department_code": self.department_code, "name": self.name}


SYSTEM = Who(Actor.SYSTEM, role="system")


@dataclass
class Step:
    action: CaseAction
    who: Who
    opinion: str | None = None
    attachments: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)  # other fields of the case set with the step
    push: dict[str, Any] | None = None
    notify: tuple[str, tuple[Recipient, ...], dict[str, Any]] | None = None  # (topic, recipients, data)


class StaleCase(AppError):
    """The case moved on between our read and our write (another step committed first): the transaction is
    retried from a fresh read (`Transactions.run`), so parallel departments never see a spurious 409."""

    def __init__(self, state: str) -> None:
        super().__init__(AF.CASE_VERSION_CONFLICT, extra={"state": state})


def refused(exc: TransitionRefused) -> AppError:
    return AppError(AF.CASE_STATE_CONFLICT, errmsg=exc.reason,
                    extra={"state": exc.state.value, "state_label": LABELS[exc.state]})


class History:
    def __init__(self, cases: CaseRepository, events: CaseEventRepository, outbox: OutboxRepository) -> None:
        self.cases, self.events, self.outbox = cases, events, outbox

    async def record(self, case: dict[str, Any], step: Step, now: datetime,
                     session: AsyncClientSession) -> dict[str, Any]:
        """Apply one step to `case` (as read in this transaction); return the updated case."""
        state = CaseState(case["state"])
        try:
            target = next_state(state, step.action, step.who.kind)
        except TransitionRefused as exc:
            raise refused(exc) from None
        seq = case["seq"] + 1
        event = case_chain.seal({
            "case_id": case["_id"], "seq": seq, "at": now, "action": step.action.value, "actor": step.who.as_doc(),
            "from": state.value, "to": target.value, "opinion": step.opinion, "attachments": step.attachments,
            "details": step.details,
        }, case["chain_head"])
        event["_id"] = f"{case['_id']}:{seq:06d}"
        changes = {**step.changes, "state": target.value, "seq": seq, "chain_head": event["hash"],
                   "updated_at": now}
        updated = await self.cases.update(case["_id"], case["version"], changes, session=session, push=step.push)
        if updated is None:
            raise StaleCase(state.value)
        await self.events.insert(event, session=session)
        if step.notify:
            topic, recipients, data = step.notify
            await self.outbox.add(OutboxEvent(
                topic=topic, key=f"case:{case['_id']}:{seq}", recipients=recipients,
                data={"case_id": case["_id"], "matter_name": case["matter"]["name"],
                      "department_name": case["matter"]["department_name"],
                      "receipt_no": updated.get("receipt_no"), "state_label": LABELS[target],
                      "due_at": (updated.get("clock") or {}).get("due_at"), **data},
                subject={"kind": "case", "id": case["_id"]}), session=session, now=now)
        return updated

    async def note(self, case: dict[str, Any], who: Who, action: str, now: datetime, session: AsyncClientSession,
                   *, opinion: str | None = None, details: dict[str, Any] | None = None,
                   changes: dict[str, Any] | None = None) -> dict[str, Any]:
        """An event that changes no state (a department's opinion, a claim, a transfer): still chained."""
        seq = case["seq"] + 1
        event = case_chain.seal({
            "case_id": case["_id"], "seq": seq, "at": now, "action": action, "actor": who.as_doc(),
            "from": case["state"], "to": case["state"], "opinion": opinion, "attachments": [],
            "details": details or {},
        }, case["chain_head"])
        event["_id"] = f"{case['_id']}:{seq:06d}"
        updated = await self.cases.update(case["_id"], case["version"],
                                          {**(changes or {}), "seq": seq, "chain_head": event["hash"],
                                           "updated_at": now}, session=session)
        if updated is None:
            raise StaleCase(case["state"])
        await self.events.insert(event, session=session)
        return updated


def applicant_of(case: dict[str, Any]) -> tuple[Recipient, ...]:
    return (Recipient("person", case["applicant_person_id"]),)
