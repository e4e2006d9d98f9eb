"""Storage of cases, their hash-chained history and their department tasks: one repository per collection.

Every write of the workflow runs inside one MongoDB transaction (`Transactions.run`), so a state change, its
history event, its task changes and its outbox events are stored together or not at all. A case carries a
`version`; every update is conditional on the version read, so a concurrent writer loses with 409, never silently.
Region scoping uses `region_prefix` (accounts.regions): a staff member's subtree is a prefix query on an index.

The first pages of the two hottest lists — an applicant's cases, a department's open tasks — are kept in Redis
(core/list_cache.py) when a ListCache is given: every write here names the scope it changed (the applicant,
the department), and `Transactions.run` applies those touches after its commit.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from core.list_cache import ListCache, Page, Rows
from core.mongo import Repository

T = TypeVar("T")
OPEN_STATES = ("open", "claimed")  # a task in a department's inbox
SUBTREE_READ_AHEAD = 2  # pages of a department's tasks read for one page of a region subtree (nearly all are in it)
Session = AsyncClientSession | None


class Transactions:
    """Runs a unit of work in a transaction (retried by the driver on transient conflicts)."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]],
                 retry_on: type[Exception] | tuple[type[Exception], ...] = (), *,
                 lists: ListCache | None = None) -> None:
        self.client, self.retry_on, self.lists = client, retry_on, lists

    async def run(self, work: Callable[[AsyncClientSession], Awaitable[T]], *, attempts: int = 5) -> T:
        """`work` must read what it changes through the session; it is run again (up to `attempts` times) when
        it raises a `retry_on` error, i.e. another transaction changed the same case first."""
        for attempt in range(1, attempts + 1):
            try:
                async with self._touches_after_commit(), self.client.start_session() as session:
                    return await session.with_transaction(work)
            except self.retry_on:
                if attempt == attempts:
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.03) * attempt)  # noqa: S311 (jitter, not crypto)
        raise AssertionError("unreachable")

    def _touches_after_commit(self) -> AbstractAsyncContextManager[None]:
        return self.lists.after_commit() if self.lists is not None else nullcontext()


def prefix_query(prefix: str) -> dict[str, Any]:
    return {"$regex": "^" + re.escape(prefix)}


class ListedRepository(Repository):
    """A repository whose first list pages may be kept in a ListCache (None: always read the database)."""

    def __init__(self, db: Any, lists: ListCache | None = None) -> None:
        super().__init__(db)
        self.lists = lists

    async def _touched(self, scopes: Iterable[str]) -> None:
        if self.lists is not None:
            await self.lists.touched(scopes)


def applicant_scope(person_id: str) -> str:
    return f"applicant-cases:{person_id}"


def department_scope(department_code: str) -> str:
    return f"department-tasks:{department_code}"


class CaseRepository(ListedRepository):
    collection_name = "cases"
    indexes = (
        IndexModel([("applicant_person_id", ASCENDING), ("_id", DESCENDING)], name="applicant_recent"),
        IndexModel([("receipt_no", ASCENDING)], unique=True, name="receipt_no_unique",
                   partialFilterExpression={"receipt_no": {"$type": "string"}}),
        IndexModel([("department_codes", ASCENDING), ("region_prefix", ASCENDING), ("_id", DESCENDING)],
                   name="department_region_recent"),
    )

    async def get(self, case_id: str, *, session: Session = None) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": case_id}, session=session)

    async def insert(self, doc: dict[str, Any], *, session: Session = None) -> None:
        await self.collection.insert_one(doc, session=session)
        await self._touched([applicant_scope(doc["applicant_person_id"])])

    async def update(self, case_id: str, version: int, changes: dict[str, Any], *, session: Session = None,
                     push: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Apply `changes` if the case is still at `version`; the new document, or None when it moved on."""
        update: dict[str, Any] = {"$set": changes, "$inc": {"version": 1}}
        if push:
            update["$push"] = push
        updated = await self.collection.find_one_and_update(
            {"_id": case_id, "version": version}, update, session=session, return_document=ReturnDocument.AFTER)
        if updated is not None:
            await self._touched([applicant_scope(updated["applicant_person_id"])])
        return updated

    async def of_applicant(self, person_id: str, *, before_id: str | None, limit: int,
                           states: list[str] | None = None) -> list[dict[str, Any]]:
        """Newest first; the first page of all states comes from the list cache when there is one."""
        if self.lists is not None and before_id is None and not states:
            return await self.lists.rows(applicant_scope(person_id), f"first:{limit}",
                                         lambda: self._of_applicant(person_id, None, limit, None))
        return await self._of_applicant(person_id, before_id, limit, states)

    async def _of_applicant(self, person_id: str, before_id: str | None, limit: int,
                            states: list[str] | None) -> Rows:
        query: dict[str, Any] = {"applicant_person_id": person_id}
        if before_id:
            query["_id"] = {"$lt": before_id}
        if states:
            query["state"] = {"$in": states}
        cursor = self.collection.find(query, projection=LIST_FIELDS).sort("_id", DESCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def latest_form_of(self, person_id: str, matter_code: str) -> dict[str, Any] | None:
        """The form of the applicant's latest submitted case of this matter (for pre-filling)."""
        return await self.collection.find_one(
            {"applicant_person_id": person_id, "matter.code": matter_code, "submitted_at": {"$ne": None}},
            projection={"form": 1}, sort=[("_id", DESCENDING)])


# What a list item shows (affairs.case_views.list_item), nothing more: a page is also what the list cache keeps.
LIST_FIELDS = {"receipt_no": 1, "matter.name": 1, "state": 1, "updated_at": 1, "clock": 1}


class CaseEventRepository(Repository):
    """The case history (全程跟踪 and the audit chain). Ids are `<case id>:<seq>`, so a duplicate seq is refused."""

    collection_name = "case_events"
    indexes = (IndexModel([("case_id", ASCENDING), ("seq", ASCENDING)], unique=True, name="case_seq_unique"),)

    async def insert(self, event: dict[str, Any], *, session: Session = None) -> None:
        await self.collection.insert_one(event, session=session)

    async def of_case(self, case_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"case_id": case_id}).sort("seq", ASCENDING)
        return [doc async for doc in cursor]


class CaseTaskRepository(ListedRepository):
    """One task per department and stage (pre-review by the implementing department, review by each involved
    department). The staff inbox reads it; claim is one conditional update, so two staff never both hold one."""

    collection_name = "case_tasks"
    indexes = (
        IndexModel([("department_code", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING),
                    ("_id", ASCENDING)], name="inbox"),
        IndexModel([("assignee.staff_id", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING)],
                   name="assignee", partialFilterExpression={"state": "claimed"}),
        IndexModel([("case_id", ASCENDING), ("stage", ASCENDING), ("department_code", ASCENDING),
                    ("round", ASCENDING)], unique=True, name="case_stage_department_unique"),
        IndexModel([("state", ASCENDING), ("due_at", ASCENDING)], name="open_by_due",
                   partialFilterExpression={"state": {"$in": list(OPEN_STATES)}}),
    )

    async def insert_many(self, tasks: list[dict[str, Any]], *, session: Session = None) -> None:
        if tasks:
            await self.collection.insert_many(tasks, session=session)
            await self._touched(department_scope(task["department_code"]) for task in tasks)

    async def get(self, task_id: str, *, session: Session = None) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": task_id}, session=session)

    async def of_case(self, case_id: str, *, session: Session = None) -> list[dict[str, Any]]:
        cursor = self.collection.find({"case_id": case_id}, session=session).sort("_id", ASCENDING)
        return [doc async for doc in cursor]

    async def change(self, task_id: str, expect: dict[str, Any], changes: dict[str, Any], *,
                     session: Session = None, push: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Conditional update: only when the task still matches `expect` (e.g. open and unclaimed)."""
        update: dict[str, Any] = {"$set": changes}
        if push:
            update["$push"] = push
        changed = await self.collection.find_one_and_update(
            {"_id": task_id, **expect}, update, session=session, return_document=ReturnDocument.AFTER)
        if changed is not None:
            await self._touched([department_scope(changed["department_code"])])
        return changed

    async def close_open(self, case_id: str, state: str, now: datetime, *, session: Session = None,
                         stage: str | None = None) -> int:
        query: dict[str, Any] = {"case_id": case_id, "state": {"$in": list(OPEN_STATES)}}
        if stage:
            query["stage"] = stage
        departments = (await self.collection.distinct("department_code", query, session=session)
                       if self.lists is not None else [])
        result = await self.collection.update_many(query, {"$set": {"state": state, "closed_at": now}},
                                                   session=session)
        await self._touched(department_scope(code) for code in departments)
        return result.modified_count

    async def first_open(self, department_code: str, *, region_prefix: str | None, limit: int) -> Page:
        """The department's open tasks inside the region subtree, most urgent first (the inbox as it opens):
        from the list cache when there is one (then with the version of the page served)."""
        query = {"department_code": department_code, "state": {"$in": list(OPEN_STATES)}}
        sort = [("due_at", ASCENDING), ("_id", ASCENDING)]

        def load() -> Awaitable[Rows]:
            return self.inbox(query, sort=sort, limit=limit, region_prefix=region_prefix)

        if self.lists is None:
            return Page(await load(), None)
        return await self.lists.page(department_scope(department_code), f"open:{region_prefix or ''}:{limit}", load)

    async def inbox(self, query: dict[str, Any], *, sort: list[tuple[str, int]], limit: int,
                    region_prefix: str | None = None) -> list[dict[str, Any]]:
        """The first `limit` tasks matching `query` in `sort` order; with `region_prefix`, only those of that
        region subtree. The subtree is checked on the rows, not in the query: any condition on `region_prefix`
        (regex, range, even equality) makes the local server's planner drop the `inbox` index for a collection
        scan (explain: COLLSCAN of every task, seconds at 100,000 cases), while department + state on the index
        already narrow the rows to one department's open tasks, nearly all inside the staff's subtree. So the
        database is asked for SUBTREE_READ_AHEAD pages' worth (a limit it can stop at, reading the index in
        order) and only when too few of those are in the subtree are the rows read on as a stream."""
        if region_prefix is None:
            return await self.collection.find(query).sort(sort).limit(limit).to_list(None)
        ahead = limit * SUBTREE_READ_AHEAD
        first = await self.collection.find(query).sort(sort).limit(ahead).to_list(None)
        rows = [doc for doc in first if doc["region_prefix"].startswith(region_prefix)][:limit]
        if len(rows) == limit or len(first) < ahead:
            return rows
        rows = []
        async with self.collection.find(query).sort(sort) as cursor:
            async for doc in cursor:
                if doc["region_prefix"].startswith(region_prefix):
                    rows.append(doc)
                    if len(rows) == limit:
                        break
        return rows
