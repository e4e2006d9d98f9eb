"""Department tasks of a case and the staff task inbox (mobile-first): list, claim, release, transfer, opinion.

A task is one department's share of one stage: the implementing department's pre-review (预审/受理) or each
involved department's review (并联审查). Claiming is one conditional update (`open` and unassigned → claimed by
me), so two staff can never both hold a task; release and transfer are conditional on holding it. Claiming a
pre-review task starts the case's pre-review. Every claim, release, transfer and opinion lands in the case
history (hash-chained), so the timeline shows who held the case when.

Each task carries a copy of its case's clock (`clock`, taken when the task is created) besides the indexed
`due_at` / `warning_at`, so the inbox shows remaining working days through `case_clock.view` — the very function
the case page uses — with no read of the case. The copy stays exact while the task is open: the case clock only
pauses on a supplement notice (which closes the pre-review task first) and resumes with a resubmission (which
opens a new task with a fresh copy); every other clock change stops the case and closes its tasks. A closed
task shows its level and remaining days as of `closed_at`, like a stopped case clock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from accounts.regions import region_contains, region_prefix
from accounts.scopes import Action, Actor, Kind, Resource, authorize, visible_scope
from accounts.staff import StaffAccount, StaffRepository
from affairs import case_clock
from affairs import errors as AF
from affairs.case_history import History, Step, Who
from affairs.case_repository import OPEN_STATES, CaseRepository, CaseTaskRepository, Transactions
from affairs.case_states import Actor as CaseActor
from affairs.case_states import CaseAction, CaseState
from affairs.workdays import WorkCalendar
from core.clock import bson_time
from core.cursors import CursorInvalid, decode_cursor, encode_cursor
from core.errors import VALIDATION_FAILED, AppError, FieldError
from core.ids import new_id
from core.masking import mask_name
from core.outbox import OutboxEvent, Recipient

SHOWN_KEPT = 512  # first inbox pages kept as shown, per process (a department × region × staff member each)


class InboxFilter(StrEnum):
    ALL = "all"  # every open task of my department and region subtree
    NEW = "new"  # not yet claimed
    MINE = "mine"  # claimed by me
    DUE_SOON = "due_soon"  # past 80 % of the limit, not yet overdue
    OVERDUE = "overdue"


def new_task(case: dict[str, Any], stage: str, department_code: str, now: datetime, *, round_: int = 1
             ) -> dict[str, Any]:
    clock = case.get("clock") or {}
    return {
        "_id": new_id(), "case_id": case["_id"], "stage": stage, "round": round_,
        "department_code": department_code, "region_code": case["region_code"],
        "region_prefix": case["region_prefix"], "matter_name": case["matter"]["name"],
        "applicant_name": case["applicant"]["name"], "state": "open", "assignee": None, "opinions": [],
        "created_at": now, "due_at": clock.get("due_at"), "warning_at": clock.get("warning_at"),
        "clock": clock or None, "supervision": {}, "closed_at": None,
    }


def task_created_event(task: dict[str, Any], case: dict[str, Any]) -> OutboxEvent:
    """"A new task in your department's inbox" (新任务推送), to the department's staff of the case's region."""
    return OutboxEvent(
        topic="task.created", key=f"task:{task['_id']}:created",
        recipients=(Recipient("department", task["department_code"]),),
        data={"case_id": case["_id"], "task_id": task["_id"], "matter_name": case["matter"]["name"],
              "stage": task["stage"], "region_code": case["region_code"], "due_at": task["due_at"],
              "applicant": mask_name(case["applicant"]["name"]), "receipt_no": case.get("receipt_no")},
        subject={"kind": "case", "id": case["_id"]})


def level_of(task: dict[str, Any], now: datetime) -> str:
    if task.get("due_at") and now >= task["due_at"]:
        return "overdue"
    if task.get("warning_at") and now >= task["warning_at"]:
        return "warning"
    return "normal"


def task_resource(task: dict[str, Any]) -> Resource:
    return Resource(kind=Kind.CASE, id=task["case_id"], department_ids=(task["department_code"],),
                    region_code=task["region_code"])


def staff_who(account: StaffAccount) -> Who:
    return Who(CaseActor.STAFF, id=account.id, role="staff", department_code=account.department_id,
               name=account.display_name)


@dataclass(frozen=True, eq=False)
class InboxPage:
    """A page of the inbox as shown. Never changed once made: a first page shown again is this very object (see
    `Inbox.page`), so what is derived from it (its JSON) may be kept with it."""

    items: tuple[dict[str, Any], ...]
    next_cursor: str | None


@dataclass(frozen=True)
class _Shown:
    page: InboxPage
    since: datetime  # the page was computed at this instant …
    until: datetime | None  # … and holds before this one (None: for as long as its rows)

    def holds_at(self, now: datetime) -> bool:
        return self.since <= now and (self.until is None or now < self.until)


class Inbox:
    def __init__(self, *, cases: CaseRepository, tasks: CaseTaskRepository, history: History, tx: Transactions,
                 staff: StaffRepository, calendar: WorkCalendar) -> None:
        self.cases, self.tasks, self.history, self.tx, self.staff = cases, tasks, history, tx, staff
        self.calendar = calendar
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        # First pages as shown, by the version of the cached rows they were made from (core/list_cache.py): a
        # department's staff reopen the same inbox all day, and its rows change far less often than the
        # numbers on it need computing. The same version always names the same rows; the views are only kept
        # until the first instant one of them changes (a level or a count of days left), so nothing shown goes
        # stale.
        self._shown: OrderedDict[tuple[str, str, int], _Shown] = OrderedDict()

    async def page(self, actor: Actor, which: InboxFilter, *, cursor: str | None, limit: int) -> InboxPage:
        scope = visible_scope(actor, Kind.CASE)
        if scope.department_id is None:  # supervisors read the board, not an inbox of their own
            raise AppError(AF.TASK_NOT_FOUND, errmsg="电子监察人员请查看超期督办看板")
        now = bson_time(self.now())
        query: dict[str, Any] = {"department_code": scope.department_id, "state": {"$in": list(OPEN_STATES)}}
        subtree = region_prefix(scope.region_code) if scope.region_code else None
        if which is InboxFilter.NEW:
            query["state"] = "open"
        elif which is InboxFilter.MINE:
            query.update({"state": "claimed", "assignee.staff_id": actor.staff_id})
        elif which is InboxFilter.DUE_SOON:
            query.update({"warning_at": {"$lte": now}, "due_at": {"$gt": now}})
        elif which is InboxFilter.OVERDUE:
            query["due_at"] = {"$lte": now}
        filters = {"filter": which.value, "staff": actor.staff_id}
        if cursor:
            try:
                due_iso, last_id = decode_cursor(cursor, filters, size=2)
            except CursorInvalid as exc:
                raise AppError(VALIDATION_FAILED, errors=[FieldError("cursor", "CURSOR_INVALID", str(exc))]) from None
            due = datetime.fromisoformat(due_iso)
            query["$or"] = [{"due_at": {"$gt": due}}, {"due_at": due, "_id": {"$gt": last_id}}]
        shown_key = None
        if which is InboxFilter.ALL and not cursor:  # the inbox as it opens: the hottest read
            first = await self.tasks.first_open(scope.department_id, region_prefix=subtree, limit=limit + 1)
            if first.version is not None:
                shown_key = (first.version, actor.staff_id or "", limit)  # the cursor names the staff member
                shown = self._shown.get(shown_key)
                if shown is not None and shown.holds_at(now):
                    self._shown.move_to_end(shown_key)
                    return shown.page
            rows = first.rows
        else:
            rows = await self.tasks.inbox(query, sort=[("due_at", 1), ("_id", 1)], limit=limit + 1,
                                          region_prefix=subtree)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1]["due_at"].isoformat(), rows[-1]["_id"]], filters) if more else None
        views = [task_view_until(task, now, self.calendar) for task in rows]
        page = InboxPage(tuple(view for view, _ in views), next_cursor)
        if shown_key is not None:
            self._shown[shown_key] = _Shown(page, now, min((u for _, u in views if u is not None), default=None))
            if len(self._shown) > SHOWN_KEPT:
                self._shown.popitem(last=False)
        return page

    async def _task(self, actor: Actor, task_id: str, action: str = Action.ACT) -> dict[str, Any]:
        task = await self.tasks.get(task_id)
        if task is None:
            raise AppError(AF.TASK_NOT_FOUND)
        authorize(actor, action, task_resource(task))
        return task

    async def get(self, actor: Actor, task_id: str) -> dict[str, Any]:
        return task_view(await self._task(actor, task_id, Action.READ), bson_time(self.now()), self.calendar)

    async def claim(self, account: StaffAccount, task_id: str) -> dict[str, Any]:
        task = await self._task(account.actor(), task_id)
        now = bson_time(self.now())

        async def work(session: Any) -> dict[str, Any]:
            claimed = await self.tasks.change(
                task_id, {"state": "open", "assignee": None},
                {"state": "claimed", "assignee": {"staff_id": account.id, "name": account.display_name},
                 "claimed_at": now}, session=session)
            if claimed is None:
                raise _not_open(await self.tasks.get(task_id, session=session), account.id)
            case = await self.cases.get(task["case_id"], session=session)
            assert case is not None
            who = staff_who(account)
            if task["stage"] == "prereview" and case["state"] in (CaseState.SUBMITTED, CaseState.RESUBMITTED):
                await self.history.record(case, Step(CaseAction.START_PREREVIEW, who,
                                                     details={"task_id": task_id}), now, session)
            else:
                await self.history.note(case, who, "claim", now, session, details={"task_id": task_id})
            return claimed
        return task_view(await self.tx.run(work), now, self.calendar)

    async def release(self, account: StaffAccount, task_id: str) -> dict[str, Any]:
        task = await self._task(account.actor(), task_id)
        return await self._hand_over(account, task, None, "release", None)

    async def transfer(self, account: StaffAccount, task_id: str, to_staff_id: str, opinion: str | None
                       ) -> dict[str, Any]:
        task = await self._task(account.actor(), task_id)
        target = await self.staff.get(to_staff_id)
        if target is None or not _can_take(target, task):
            raise AppError(VALIDATION_FAILED, errors=[FieldError(
                "to_staff_id", "STAFF_CANNOT_TAKE", "接收人须为本部门、辖区内在岗的工作人员")])
        return await self._hand_over(account, task, {"staff_id": target.id, "name": target.display_name},
                                     "transfer", opinion)

    async def _hand_over(self, account: StaffAccount, task: dict[str, Any], to: dict[str, Any] | None,
                         action: str, opinion: str | None) -> dict[str, Any]:
        now = bson_time(self.now())

        async def work(session: Any) -> dict[str, Any]:
            changed = await self.tasks.change(
                task["_id"], {"state": "claimed", "assignee.staff_id": account.id},
                {"state": "claimed" if to else "open", "assignee": to, "claimed_at": now if to else None},
                session=session)
            if changed is None:
                raise _not_held(await self.tasks.get(task["_id"], session=session))
            case = await self.cases.get(task["case_id"], session=session)
            assert case is not None
            await self.history.note(case, staff_who(account), action, now, session, opinion=opinion,
                                    details={"task_id": task["_id"], "to": (to or {}).get("name")})
            return changed
        return task_view(await self.tx.run(work), now, self.calendar)

    async def add_opinion(self, account: StaffAccount, task_id: str, opinion: str) -> dict[str, Any]:
        task = await self._task(account.actor(), task_id)
        now = bson_time(self.now())

        async def work(session: Any) -> dict[str, Any]:
            changed = await self.tasks.change(
                task_id, {"state": "claimed", "assignee.staff_id": account.id}, {},
                push={"opinions": {"at": now, "staff_id": account.id, "name": account.display_name,
                                   "opinion": opinion}}, session=session)
            if changed is None:
                raise _not_held(await self.tasks.get(task_id, session=session))
            case = await self.cases.get(task["case_id"], session=session)
            assert case is not None
            await self.history.note(case, staff_who(account), "opinion", now, session, opinion=opinion,
                                    details={"task_id": task_id})
            return changed
        return task_view(await self.tx.run(work), now, self.calendar)

    async def held(self, account: StaffAccount, task_id: str, session: Any) -> dict[str, Any]:
        """The task, claimed by this staff member and still open (for decisions), read in the transaction."""
        task = await self.tasks.get(task_id, session=session)
        if task is None:
            raise AppError(AF.TASK_NOT_FOUND)
        authorize(account.actor(), Action.ACT, task_resource(task))
        if task["state"] not in OPEN_STATES:
            raise AppError(AF.TASK_CLOSED, extra={"task_state": task["state"]})
        if (task.get("assignee") or {}).get("staff_id") != account.id:
            raise _not_held(task)
        return task


def _can_take(target: Any, task: dict[str, Any]) -> bool:
    return (not target.disabled and "staff" in target.roles and target.department_id == task["department_code"]
            and region_contains(target.region_code, task["region_code"]))


def _not_open(task: dict[str, Any] | None, staff_id: str) -> AppError:
    if task is None:
        return AppError(AF.TASK_NOT_FOUND)
    if task["state"] not in OPEN_STATES:
        return AppError(AF.TASK_CLOSED, extra={"task_state": task["state"]})
    holder = (task.get("assignee") or {})
    if holder.get("staff_id") == staff_id:
        return AppError(AF.TASK_CLAIMED_BY_OTHER, errmsg="您已认领该任务")
    return AppError(AF.TASK_CLAIMED_BY_OTHER, extra={"assignee": holder.get("name")})


def _not_held(task: dict[str, Any] | None) -> AppError:
    if task is None:
        return AppError(AF.TASK_NOT_FOUND)
    if task["state"] not in OPEN_STATES:
        return AppError(AF.TASK_CLOSED, extra={"task_state": task["state"]})
    return AppError(AF.TASK_NOT_CLAIMED, errmsg="该任务不在您名下，请先认领")


def task_view(task: dict[str, Any], now: datetime, calendar: WorkCalendar) -> dict[str, Any]:
    at = task.get("closed_at") or now  # a closed task keeps its numbers, like a stopped case clock
    return _view(task, at, case_clock.days_left(calendar, task.get("clock"), at))


def task_view_until(task: dict[str, Any], now: datetime, calendar: WorkCalendar
                    ) -> tuple[dict[str, Any], datetime | None]:
    """`task_view`, and the instant before which it stays the same: the next change of its level or of its days
    left (None: neither changes again — a closed task keeps its numbers, a paused clock stands)."""
    closed_at = task.get("closed_at")
    days_left, days_until = case_clock.days_left_until(calendar, task.get("clock"), closed_at or now)
    view = _view(task, closed_at or now, days_left)
    if closed_at:
        return view, None
    changes = [at for at in (days_until, task.get("warning_at"), task.get("due_at")) if at is not None and at > now]
    return view, min(changes, default=None)


def _view(task: dict[str, Any], at: datetime, days_left: int | None) -> dict[str, Any]:
    """What the inbox and the task page show; `days_left` None: a task from before tasks kept a clock copy."""
    return {
        "id": task["_id"], "case_id": task["case_id"], "stage": task["stage"], "round": task["round"],
        "department_code": task["department_code"], "region_code": task["region_code"],
        "matter_name": task["matter_name"], "applicant_name": task["applicant_name"], "state": task["state"],
        "assignee": task.get("assignee"), "opinions": task.get("opinions", []), "created_at": task["created_at"],
        "due_at": task.get("due_at"), "level": level_of(task, at),
        "remaining_working_days": days_left,
    }
