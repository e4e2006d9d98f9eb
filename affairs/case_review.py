"""The staff's side of a case: pre-review decisions (补正 / 受理 / 不予受理), parallel department review, completion.

Each decision is taken on a task the staff member holds (claimed in the inbox), inside one transaction that also
closes the task, appends the history event(s) and writes the notifications. Rules the API enforces:
- 一次性告知: the first supplement notice may name any field or material; a later one only what the applicant
  changed in the resubmission that followed (a problem the resubmission caused), so staff cannot drip-feed.
- 容缺受理: materials the applicant promised instead of providing are recorded with the promise and a due date.
- 并联审批: acceptance opens one review task per involved department at once; the case is approved when all
  approve and denied as soon as one denies (the others' open tasks are cancelled).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from accounts.scopes import Action, Kind, Resource, authorize
from accounts.staff import StaffAccount
from affairs import case_clock
from affairs import errors as AF
from affairs.case_history import SYSTEM, History, Step, applicant_of
from affairs.case_inputs import Accept, Complete, Decision, NotAccept, ResultKind, SupplementRequest
from affairs.case_materials import deferred
from affairs.case_repository import CaseRepository, CaseTaskRepository, Transactions
from affairs.case_states import CaseAction, CaseState
from affairs.case_tasks import Inbox, new_task, staff_who, task_created_event
from affairs.ecerts import EcertRepository
from affairs.rating_invites import rating_requested_event
from affairs.workdays import SHANGHAI, WorkCalendar, shanghai_date
from core.clock import bson_time
from core.errors import VALIDATION_FAILED, AppError, FieldError


class CaseReview:
    def __init__(self, *, cases: CaseRepository, tasks: CaseTaskRepository, history: History, tx: Transactions,
                 inbox: Inbox, ecerts: EcertRepository, calendar: WorkCalendar) -> None:
        self.cases, self.tasks, self.history, self.tx = cases, tasks, history, tx
        self.inbox, self.ecerts, self.calendar = inbox, ecerts, calendar
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def _case(self, case_id: str, session: Any) -> dict[str, Any]:
        case = await self.cases.get(case_id, session=session)
        if case is None:
            raise AppError(AF.CASE_NOT_FOUND)
        return case

    async def _prereview(self, account: StaffAccount, task_id: str, session: Any
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
        task = await self.inbox.held(account, task_id, session)
        if task["stage"] != "prereview":
            raise AppError(AF.CASE_STATE_CONFLICT, errmsg="这是审查任务，不能做受理决定")
        return task, await self._case(task["case_id"], session)

    # -- pre-review ---------------------------------------------------------------------------------------------
    async def request_supplement(self, account: StaffAccount, task_id: str, body: SupplementRequest
                                 ) -> dict[str, Any]:
        now = bson_time(self.now())

        async def work(session: Any) -> dict[str, Any]:
            task, case = await self._prereview(account, task_id, session)
            _check_problems(case, body)
            round_ = len(case["supplements"]) + 1
            notice = {"round": round_, "at": now, "by": account.display_name,
                      "problems": [p.model_dump() for p in body.problems]}
            updated = await self.history.record(case, Step(
                CaseAction.REQUEST_SUPPLEMENT, staff_who(account), opinion=body.opinion,
                details={"problems": notice["problems"], "round": round_},
                changes={"clock": case_clock.pause(self.calendar, case["clock"], now)},
                push={"supplements": notice},
                notify=("case.supplement_requested", applicant_of(case),
                        {"problem_count": len(body.problems), "round": round_})), now, session)
            await self.tasks.change(task["_id"], {}, {"state": "done", "outcome": "supplement", "closed_at": now},
                                    session=session)
            return updated
        return await self.tx.run(work)

    async def accept(self, account: StaffAccount, task_id: str, body: Accept) -> dict[str, Any]:
        now = bson_time(self.now())

        async def work(session: Any) -> dict[str, Any]:
            task, case = await self._prereview(account, task_id, session)
            promised = deferred(case["materials"])
            due = self.calendar.add_working_days(shanghai_date(now), body.deferred_due_days) if promised else None
            deferrals = [{**item, "due_date": due.isoformat()} for item in promised] if due else []
            receipt_no = await self._receipt_no(case, now, session)
            accepted = await self.history.record(case, Step(
                CaseAction.ACCEPT, staff_who(account), opinion=body.opinion,
                details={"receipt_no": receipt_no, "deferred": deferrals},
                changes={"receipt_no": receipt_no, "accepted_at": now, "deferred": deferrals},
                notify=("case.accepted", applicant_of(case), {"receipt_no": receipt_no,
                                                              "deferred_count": len(deferrals)})), now, session)
            await self.tasks.change(task["_id"], {}, {"state": "done", "outcome": "accepted", "closed_at": now},
                                    session=session)
            reviewing = await self.history.record(accepted, Step(
                CaseAction.START_REVIEW, SYSTEM, details={"departments": accepted["department_codes"]}),
                now, session)
            tasks = [new_task(reviewing, "review", code, now) for code in reviewing["department_codes"]]
            await self.tasks.insert_many(tasks, session=session)
            for review in tasks:
                await self.history.outbox.add(task_created_event(review, reviewing), session=session, now=now)
            return reviewing
        return await self.tx.run(work)

    async def not_accept(self, account: StaffAccount, task_id: str, body: NotAccept) -> dict[str, Any]:
        now = bson_time(self.now())

        async def work(session: Any) -> dict[str, Any]:
            task, case = await self._prereview(account, task_id, session)
            updated = await self.history.record(case, Step(
                CaseAction.NOT_ACCEPT, staff_who(account), opinion=body.reason,
                changes={"clock": case_clock.stop(case["clock"], now), "decided_at": now},
                notify=("case.not_accepted", applicant_of(case), {"reason": body.reason})), now, session)
            await self._ended(updated, now, session)
            await self.tasks.change(task["_id"], {}, {"state": "done", "outcome": "not_accepted",
                                                      "closed_at": now}, session=session)
            return updated
        return await self.tx.run(work)

    # -- parallel review ------------------------------------------------------------------------------------------
    async def decide(self, account: StaffAccount, task_id: str, body: Decision) -> dict[str, Any]:
        now = bson_time(self.now())

        async def work(session: Any) -> dict[str, Any]:
            task = await self.inbox.held(account, task_id, session)
            if task["stage"] != "review":
                raise AppError(AF.CASE_STATE_CONFLICT, errmsg="预审任务请使用受理、补正或不予受理")
            case = await self._case(task["case_id"], session)
            if case["state"] != CaseState.IN_REVIEW:
                raise AppError(AF.CASE_STATE_CONFLICT, extra={"state": case["state"]})
            outcome = "approved" if body.approve else "denied"
            await self.tasks.change(task["_id"], {}, {"state": outcome, "closed_at": now}, session=session,
                                    push={"opinions": {"at": now, "staff_id": account.id,
                                                       "name": account.display_name, "opinion": body.opinion}})
            case = await self.history.note(case, staff_who(account), f"department_{outcome}", now, session,
                                           opinion=body.opinion, details={"task_id": task_id})
            if not body.approve:
                await self.tasks.close_open(case["_id"], "cancelled", now, session=session, stage="review")
                denied = await self.history.record(case, Step(
                    CaseAction.DENY, SYSTEM, opinion=body.opinion, details={"department_code": account.department_id},
                    changes={"clock": case_clock.stop(case["clock"], now), "decided_at": now},
                    notify=("case.denied", applicant_of(case), {"reason": body.opinion})), now, session)
                return await self._ended(denied, now, session)
            reviews = [t for t in await self.tasks.of_case(case["_id"], session=session) if t["stage"] == "review"]
            if all(t["state"] == "approved" for t in reviews):
                return await self.history.record(case, Step(
                    CaseAction.APPROVE, SYSTEM, details={"departments": [t["department_code"] for t in reviews]},
                    changes={"decided_at": now}, notify=("case.approved", applicant_of(case), {})), now, session)
            return case
        return await self.tx.run(work)

    # -- completion ------------------------------------------------------------------------------------------------
    async def complete(self, account: StaffAccount, case_id: str, body: Complete) -> dict[str, Any]:
        now = bson_time(self.now())

        async def work(session: Any) -> dict[str, Any]:
            case = await self._case(case_id, session)
            authorize(account.actor(), Action.ACT, Resource(
                kind=Kind.CASE, id=case_id, department_ids=(case["matter"]["department_code"],),
                region_code=case["region_code"]))
            result: dict[str, Any] = {"kind": body.kind.value, "note": body.note, "document_ids": body.document_ids}
            if case["state"] != CaseState.APPROVED:
                raise AppError(AF.CASE_STATE_CONFLICT, errmsg="只有审批通过的办件可以办结",
                               extra={"state": case["state"]})
            if body.kind is ResultKind.ECERT:
                cert_type = case["matter"].get("result_ecert_type")
                if not cert_type:
                    raise AppError(VALIDATION_FAILED, errors=[FieldError(
                        "kind", "NO_ECERT_TYPE", "该事项的办理结果没有对应的电子证照类型")])
                cert = await self.ecerts.issue(
                    holder_person_id=case["applicant_person_id"], type_=cert_type,
                    issuer=case["matter"]["department_name"], title=case["matter"]["result"], now=now,
                    source_case_id=case_id, session=session)
                result["ecert"] = {"id": cert["_id"], "number": cert["number"], "type": cert_type}
            completed = await self.history.record(case, Step(
                CaseAction.COMPLETE, staff_who(account), opinion=body.note, details={"result": result},
                changes={"result": result, "completed_at": now, "clock": case_clock.stop(case["clock"], now)},
                notify=("case.completed", applicant_of(case), {"result": case["matter"]["result"]})), now, session)
            return await self._ended(completed, now, session)
        return await self.tx.run(work)

    async def _ended(self, case: dict[str, Any], now: datetime, session: Any) -> dict[str, Any]:
        """The case has just ended (办结, 不予许可, 不予受理): invite its applicant to rate the service (好差评),
        in the same transaction as the step (affairs/rating_invites.py)."""
        await self.history.outbox.add(rating_requested_event(case), session=session, now=now)
        return case

    async def _receipt_no(self, case: dict[str, Any], now: datetime, session: Any) -> str:
        """`<region 6><yyyymmdd Shanghai><5-digit daily sequence>`, unique by index; counted in the transaction."""
        day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
        prefix = case["region_code"][:6] + day
        counter = await self.cases.db["case_counters"].find_one_and_update(
            {"_id": prefix}, {"$inc": {"seq": 1}, "$setOnInsert": {"expires_at": now + timedelta(days=400)}},
            upsert=True, return_document=True, session=session)
        return f"{prefix}{counter['seq']:05d}"


def _check_problems(case: dict[str, Any], body: SupplementRequest) -> None:
    """Targets must exist; after a first notice, only targets the last resubmission changed are allowed."""
    errors = []
    known_fields = set(case["form"]) | set(case["sealed"])
    for position, problem in enumerate(body.problems):
        kind, _, name = problem.target.partition(".")
        if (kind == "form" and name not in known_fields) or (kind == "materials" and int(name) >= len(case["materials"])):
            errors.append(FieldError(f"problems.{position}.target", "UNKNOWN_TARGET", "表单或材料中没有这一项"))
    if errors:
        raise AppError(VALIDATION_FAILED, errors=errors)
    if not case["supplements"]:
        return
    changed = set((case.get("last_resubmission") or {}).get("changed", []))
    outside = [(i, p.target) for i, p in enumerate(body.problems) if p.target not in changed]
    if outside:
        raise AppError(AF.SUPPLEMENT_ALREADY_NOTIFIED, errors=[
            FieldError(f"problems.{i}.target", "NOT_CAUSED_BY_RESUBMISSION",
                       f"{target} 在补正时没有改动，应在第一次告知中一并提出") for i, target in outside],
            extra={"changed_in_resubmission": sorted(changed)})
