"""How a case and its history look to the applicant and to staff (全程跟踪), and the read-side checks.

Only masked numbers are ever stored in `form` (see case_forms), so views never decrypt. The applicant sees the
departments and roles that acted, not the names or ids of individual staff; staff see who did what. The chain
check re-reads the stored history and verifies every hash against the case's head.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from accounts.scopes import Action, Actor, Kind, Resource, authorize
from affairs import case_chain, case_clock
from affairs import errors as AF
from affairs.case_repository import CaseEventRepository, CaseRepository, CaseTaskRepository
from affairs.case_states import LABELS, CaseState, allowed_actions
from affairs.case_states import Actor as CaseActor
from affairs.case_tasks import task_view
from affairs.workdays import WorkCalendar
from core.clock import bson_time
from core.errors import AppError

ACTION_LABELS = {
    "create": "创建草稿", "submit": "提交申请", "start_prereview": "开始预审", "request_supplement": "一次性告知补正",
    "resubmit": "提交补正", "accept": "受理", "not_accept": "不予受理", "start_review": "进入并联审查",
    "approve": "审批通过", "deny": "不予许可", "complete": "办结", "withdraw": "撤回", "claim": "认领任务",
    "release": "退回任务", "transfer": "转交任务", "opinion": "填写意见", "department_approved": "部门审查同意",
    "department_denied": "部门审查不同意", "supervision_warning": "临近超期预警", "supervision_overdue": "超期督办",
}


def case_view(case: dict[str, Any], calendar: WorkCalendar, now: datetime, *, for_staff: bool) -> dict[str, Any]:
    state = CaseState(case["state"])
    actor = CaseActor.STAFF if for_staff else CaseActor.APPLICANT
    return {
        "id": case["_id"], "receipt_no": case.get("receipt_no"), "state": state.value, "state_label": LABELS[state],
        "version": case["version"], "matter": case["matter"], "region_code": case["region_code"],
        "applicant": case["applicant"], "form": case["form"], "materials": case["materials"],
        "supplements": case["supplements"], "deferred": case.get("deferred", []),
        "last_resubmission": case.get("last_resubmission"), "clock": case_clock.view(calendar, case["clock"], now),
        "result": case.get("result"), "allowed_actions": [a.value for a in allowed_actions(state, actor)],
        "created_at": case["created_at"], "submitted_at": case.get("submitted_at"),
        "updated_at": case["updated_at"],
    }


def list_item(case: dict[str, Any], calendar: WorkCalendar, now: datetime) -> dict[str, Any]:
    state = CaseState(case["state"])
    clock = case_clock.brief(calendar, case.get("clock"), now)
    return {"id": case["_id"], "receipt_no": case.get("receipt_no"), "matter_name": case["matter"]["name"],
            "state": state.value, "state_label": LABELS[state], "updated_at": case["updated_at"],
            "due_date": (clock or {}).get("due_date"), "level": (clock or {}).get("level")}


def event_view(event: dict[str, Any], *, for_staff: bool) -> dict[str, Any]:
    actor = event["actor"]
    shown_actor = actor if for_staff else {"kind": actor["kind"], "role": actor["role"],
                                           "department_code": actor.get("department_code")}
    return {"seq": event["seq"], "at": event["at"], "action": event["action"],
            "action_label": ACTION_LABELS.get(event["action"], event["action"]), "from": event["from"],
            "to": event["to"], "actor": shown_actor, "opinion": event.get("opinion"),
            "attachments": event.get("attachments", []), "details": event.get("details", {})}


class CaseDesk:
    """Staff reads: a case in scope, its history, its tasks, and the verification of its audit chain."""

    def __init__(self, cases: CaseRepository, events: CaseEventRepository, tasks: CaseTaskRepository,
                 calendar: WorkCalendar) -> None:
        self.cases, self.events, self.tasks, self.calendar = cases, events, tasks, calendar
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def readable(self, actor: Actor, case_id: str) -> dict[str, Any]:
        case = await self.cases.get(case_id)
        if case is None or case["state"] == CaseState.DRAFT:  # drafts are the applicant's alone
            raise AppError(AF.CASE_NOT_FOUND)
        authorize(actor, Action.READ, Resource(kind=Kind.CASE, id=case_id,
                                               department_ids=tuple(case["department_codes"]),
                                               region_code=case["region_code"]))
        return case

    async def get(self, actor: Actor, case_id: str) -> dict[str, Any]:
        case = await self.readable(actor, case_id)
        now = bson_time(self.now())
        view = case_view(case, self.calendar, now, for_staff=True)
        view["tasks"] = [task_view(t, now, self.calendar) for t in await self.tasks.of_case(case_id)]
        view["history"] = [event_view(e, for_staff=True) for e in await self.events.of_case(case_id)]
        return view

    async def verify_chain(self, actor: Actor, case_id: str) -> dict[str, Any]:
        case = await self.readable(actor, case_id)
        report = case_chain.verify(await self.events.of_case(case_id), head_hash=case["chain_head"],
                                   expected_count=case["seq"])
        return {"case_id": case_id, **report.as_dict()}
