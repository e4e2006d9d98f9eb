"""The inbox's first page, shown again as computed (affairs/case_tasks.py `Inbox.page`), against the real Redis and
MongoDB: the very same page while its rows and its numbers stand, a new one after a write to the department or
at the instant a level or a count of days left changes — never a page from another time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from accounts.scopes import Actor
from affairs import case_clock
from affairs.case_tasks import Inbox, InboxFilter, InboxPage, new_task, task_view
from config.wiring import Dependencies
from core.ids import new_id

SHANGHAI = timezone(timedelta(hours=8))
# Accepted on Monday 2026-11-02 at 10:00: 3 working days, counted Nov 3, 4, 5; warned from 80 % (Nov 5, 09:36).
ACCEPTED = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def clock(deps: Dependencies) -> Iterator[list[datetime]]:
    inbox = deps.cases.inbox
    frozen = [at("2026-11-03T09:00")]
    inbox.now = lambda: frozen[0]
    yield frozen
    inbox.now = lambda: datetime.now(UTC)


async def department_with_tasks(deps: Dependencies, count: int) -> tuple[str, list[dict[str, object]]]:
    department = f"t_{new_id()[-10:].lower()}"  # a department of its own: nobody else's writes touch it
    clock = case_clock.start(deps.cases.inbox.calendar, {"promised_days": 3, "statutory_days": 5}, ACCEPTED)
    tasks = [new_task({"_id": new_id(), "region_code": "430182", "region_prefix": "430182", "clock": clock,
                       "matter": {"name": "不动产登记"}, "applicant": {"name": "王芳"}}, "prereview", department, ACCEPTED)
             for _ in range(count)]
    await deps.cases.inbox.tasks.insert_many(tasks)
    return department, tasks


async def first_page(inbox: Inbox, actor: Actor) -> InboxPage:
    return await inbox.page(actor, InboxFilter.ALL, cursor=None, limit=2)


async def test_the_same_page_until_a_write_or_a_change_of_its_numbers(deps: Dependencies,
                                                                      clock: list[datetime]) -> None:
    inbox = deps.cases.inbox
    department, tasks = await department_with_tasks(deps, 3)
    actor = Actor(frozenset({"staff"}), staff_id=new_id(), department_id=department, region_code="430182")

    await first_page(inbox, actor)  # read from the database, kept in Redis
    shown = await first_page(inbox, actor)  # from Redis: computed once more, then kept as shown
    assert shown.next_cursor is not None and len(shown.items) == 2
    assert await first_page(inbox, actor) is shown
    clock[0] = at("2026-11-03T23:59:59")  # later the same working day: 3 days left still
    assert await first_page(inbox, actor) is shown
    assert [item["remaining_working_days"] for item in shown.items] == [3, 3]

    clock[0] = at("2026-11-04T00:00")  # a working day counted: a new page, with new numbers
    next_day = await first_page(inbox, actor)
    assert next_day is not shown and [item["remaining_working_days"] for item in next_day.items] == [2, 2]
    clock[0] = at("2026-11-05T09:36")  # 80 % used: warned at once, no write needed
    warned = await first_page(inbox, actor)
    assert warned is not next_day and {item["level"] for item in warned.items} == {"warning"}
    assert list(warned.items) == [task_view(task, clock[0], inbox.calendar)
                                  for task in sorted(tasks, key=lambda t: t["_id"])[:2]]

    clock[0] = at("2026-11-03T12:00")  # a clock set back is never shown a page made later
    back = await first_page(inbox, actor)
    assert back is not warned and [item["level"] for item in back.items] == ["normal", "normal"]

    claimed = await inbox.tasks.change(tasks[0]["_id"], {"state": "open"}, {"state": "claimed", "assignee": {
        "staff_id": actor.staff_id, "name": "测试员"}})  # a write to the department: its pages are read again
    assert claimed is not None
    together = await asyncio.gather(*(first_page(inbox, actor) for _ in range(10)))  # they meet at one read …
    after_write = await first_page(inbox, actor)
    assert all(page is after_write for page in together)  # … and it is made once for all of them
    assert after_write is not back
    assert {item["assignee"]["staff_id"] for item in after_write.items if item["assignee"]} == {actor.staff_id}

    other = Actor(frozenset({"staff"}), staff_id=new_id(), department_id=department, region_code="430182")
    theirs = await first_page(inbox, other)  # each staff member's page carries their own cursor
    assert theirs is not after_write and theirs.items == after_write.items
    assert theirs.next_cursor != after_write.next_cursor


async def test_a_subtree_page_is_whole_when_the_department_works_mostly_elsewhere(deps: Dependencies) -> None:
    """The inbox asks the database for SUBTREE_READ_AHEAD pages of the department's tasks and filters the
    subtree on the rows; when too few of those are in the subtree it reads on, so the page is never short."""
    tasks = deps.cases.inbox.tasks
    department = f"t_{new_id()[-10:].lower()}"
    due = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)

    def task(n: int, region: str) -> dict[str, object]:
        return {"_id": f"{department}-{n:03d}", "case_id": f"c-{n}", "stage": "review", "round": 1,
                "department_code": department, "state": "open",
                "due_at": due + timedelta(minutes=n), "region_prefix": region}
    # the 12 most urgent are another town's; then 5 of ours among 10 more of theirs
    elsewhere = [task(n, "430181") for n in range(12)] + [task(n, "430181") for n in range(20, 30)]
    ours = [task(n, "430182") for n in (12, 14, 16, 18, 31)]
    await tasks.collection.insert_many(elsewhere + ours)
    query = {"department_code": department, "state": {"$in": ["open", "claimed"]}}
    sort = [("due_at", 1), ("_id", 1)]

    page = await tasks.inbox(query, sort=sort, limit=4, region_prefix="430182")  # read-ahead: 8 rows, none ours
    assert [t["_id"] for t in page] == [t["_id"] for t in ours[:4]]
    page = await tasks.inbox(query, sort=sort, limit=20, region_prefix="430182")  # fewer rows than the read-ahead
    assert [t["_id"] for t in page] == [t["_id"] for t in ours]
    page = await tasks.inbox(query, sort=sort, limit=3, region_prefix="4301")  # the county: everyone's
    assert [t["_id"] for t in page] == [f"{department}-{n:03d}" for n in range(3)]
