"""Electronic supervision (电子监察): warn before a task is overdue, alert when it is, show the overdue board.

The sweep (Celery beat, every few minutes) finds open tasks whose stored `warning_at` / `due_at` has passed and
that were not yet flagged for that level. Each flag is one transaction: the conditional update of the task (so a
second sweep, or two sweeps at once, flag nothing twice), a history event on the case, and an outbox event —
"task.warning" to the holder (or the department when unclaimed), "task.overdue" (urgent: ignores quiet hours)
to the holder and to the supervisors of the case's region. The board counts late and nearly late tasks by
department and region inside the supervisor's region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.regions import region_prefix
from accounts.scopes import Actor, Kind, visible_scope
from affairs.case_history import History, Who
from affairs.case_repository import CaseRepository, CaseTaskRepository, Transactions, prefix_query
from affairs.case_states import Actor as CaseActor
from affairs.case_tasks import OPEN_STATES
from core.outbox import OutboxEvent, Recipient

SUPERVISION = Who(CaseActor.SYSTEM, role="supervision", name="电子监察")


@dataclass(frozen=True, slots=True)
class SweepReport:
    warned: int
    overdue: int

    def as_dict(self) -> dict[str, int]:
        return {"warned": self.warned, "overdue": self.overdue}


class Supervision:
    def __init__(self, *, cases: CaseRepository, tasks: CaseTaskRepository, history: History,
                 tx: Transactions) -> None:
        self.cases, self.tasks, self.history, self.tx = cases, tasks, history, tx

    async def sweep(self, now: datetime, *, batch: int = 500) -> SweepReport:
        warned = await self._flag("warning", "warning_at", now, batch)
        overdue = await self._flag("overdue", "due_at", now, batch)
        return SweepReport(warned, overdue)

    async def _flag(self, level: str, field: str, now: datetime, batch: int) -> int:
        query = {"state": {"$in": list(OPEN_STATES)}, field: {"$lte": now}, f"supervision.{level}": None}
        candidates = await self.tasks.inbox(query, sort=[(field, 1), ("_id", 1)], limit=batch)
        flagged = 0
        for task in candidates:
            flagged += await self.tx.run(lambda session, task=task: self._flag_one(task, level, now, session))
        return flagged

    async def _flag_one(self, task: dict[str, Any], level: str, now: datetime, session: Any) -> int:
        marked = await self.tasks.change(task["_id"], {f"supervision.{level}": None, "state": {"$in": list(OPEN_STATES)}},
                                         {f"supervision.{level}": now}, session=session)
        if marked is None:
            return 0  # another sweep got there first, or the task was closed meanwhile
        case = await self.cases.get(task["case_id"], session=session)
        if case is None:
            return 0
        await self.history.note(case, SUPERVISION, f"supervision_{level}", now, session,
                                details={"task_id": task["_id"], "department_code": task["department_code"],
                                         "due_at": task["due_at"]})
        holder = (marked.get("assignee") or {}).get("staff_id")
        recipients = [Recipient("staff", holder) if holder else Recipient("department", task["department_code"])]
        if level == "overdue":
            recipients.append(Recipient("region_supervisors", task["region_code"]))
        await self.history.outbox.add(OutboxEvent(
            topic=f"task.{level}", key=f"task:{task['_id']}:{level}", recipients=tuple(recipients),
            data={"case_id": task["case_id"], "task_id": task["_id"], "matter_name": task["matter_name"],
                  "receipt_no": case.get("receipt_no"), "due_at": task["due_at"], "region_code": task["region_code"],
                  "department_code": task["department_code"]},
            subject={"kind": "case", "id": task["case_id"]}, urgent=level == "overdue"), session=session, now=now)
        return 1

    async def board(self, actor: Actor, now: datetime) -> dict[str, Any]:
        """Open tasks past due / past 80 % per department and region, inside what the actor may read."""
        scope = visible_scope(actor, Kind.CASE)
        match: dict[str, Any] = {"state": {"$in": list(OPEN_STATES)}, "warning_at": {"$lte": now}}
        if scope.department_id:
            match["department_code"] = scope.department_id
        if scope.region_code:
            match["region_prefix"] = prefix_query(region_prefix(scope.region_code))
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        async for task in self.tasks.collection.find(match, projection={
                "department_code": 1, "region_code": 1, "due_at": 1, "case_id": 1}):
            key = (task["department_code"], task["region_code"])
            row = rows.setdefault(key, {"department_code": key[0], "region_code": key[1], "overdue": 0,
                                        "warning": 0, "oldest_due_at": None})
            late = task["due_at"] is not None and task["due_at"] <= now
            row["overdue" if late else "warning"] += 1
            if late and (row["oldest_due_at"] is None or task["due_at"] < row["oldest_due_at"]):
                row["oldest_due_at"] = task["due_at"]
        ordered = sorted(rows.values(), key=lambda r: (-r["overdue"], -r["warning"], r["department_code"]))
        return {"at": now, "rows": ordered, "overdue": sum(r["overdue"] for r in ordered),
                "warning": sum(r["warning"] for r in ordered)}
