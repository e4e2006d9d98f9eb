"""Running an import job (worker side): read the file, check every matter, then import all of them or none.

All or nothing: any issue anywhere fails the job with the full report and nothing is written. When every row is
clean, every new matter, every new draft, every audit entry and the job's `done` are written in ONE MongoDB
transaction (SecantusDB presents a one-member replica set and runs multi-document transactions), so a crash,
a conflicting edit made meanwhile or a code taken meanwhile leaves the catalogue exactly as it was. Imported
matters are drafts: publishing stays a reviewed, per-matter act. Parsing runs synchronously here: this loop
belongs to one Celery task, so it blocks no request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from accounts.scopes import Actor
from affairs.audit import AuditRepository
from affairs.departments import Department
from affairs.import_checks import CatalogueLookups, ImportPlan, PlannedMatter, check_workbook
from affairs.imports import ImportJobRepository
from affairs.matter_access import actor_id
from affairs.matter_sheet_read import SheetIssue, parse_workbook
from affairs.matters import edited_draft, new_matter_document, snapshot
from core.clock import bson_time
from core.errors import AppError
from core.jobs import JobState
from storage.object_store import ObjectStore

log = structlog.get_logger(__name__)
INTERNAL_FAILURE = "导入时发生内部错误，未导入任何事项，请稍后重新上传"


class ImportConflict(Exception):
    """A matter changed between the check and the transaction; the transaction is aborted."""

    def __init__(self, issue: SheetIssue) -> None:
        super().__init__(issue.reason)
        self.issue = issue


@dataclass
class ImportRunner:
    client: AsyncMongoClient[dict[str, Any]]
    jobs: ImportJobRepository
    lookups: CatalogueLookups
    audit: AuditRepository
    objects: ObjectStore
    bucket: str

    async def run(self, job_id: str) -> str | None:
        """Run the job if it is still to be run; its final state, or None when there was nothing to do."""
        return await self.jobs.run(job_id, self._run, internal_failure=INTERNAL_FAILURE, after=self._delete_upload)

    async def _delete_upload(self, job: dict[str, Any]) -> None:
        await self.objects.delete(self.bucket, job["object_key"])

    async def _run(self, job: dict[str, Any]) -> str:
        job_id = job["_id"]
        department = await self.lookups.departments.get(job["department_code"])
        if department is None:
            await self.jobs.fail(job_id, message=f"部门 {job['department_code']} 不存在，未导入任何事项")
            return JobState.FAILED.value
        parsed = parse_workbook(await self.objects.get_bytes(self.bucket, job["object_key"]))
        counts = {"matters": len(parsed.matters), "materials": parsed.rows.get("申请材料", 0),
                  "steps": parsed.rows.get("办理流程", 0), "places": parsed.rows.get("办理地点", 0)}
        await self.jobs.progress(job_id, JobState.VALIDATING, 10, counts=counts)
        shown = [10]

        async def on_progress(done: int, total: int) -> None:  # 10 → 90 while checking, at most every 5 %
            percent = 10 + 80 * done // max(total, 1)
            if percent - shown[0] >= 5 or done == total:
                shown[0] = percent
                await self.jobs.progress(job_id, JobState.VALIDATING, percent)

        plan = await check_workbook(parsed, department, self.lookups, on_progress)
        if plan.issues:
            counts["issues"] = len(plan.issues)
            await self.jobs.fail(job_id, message=f"发现 {len(plan.issues)} 处错误，未导入任何事项；请按报告修改后重新上传",
                                 issues=[issue.as_dict() for issue in plan.issues], counts=counts)
            log.info("matter_import_refused", job_id=job_id, issues=len(plan.issues))
            return JobState.FAILED.value
        await self.jobs.progress(job_id, JobState.IMPORTING, 90)
        try:
            outcomes = await self._apply(job, department, plan, counts)
        except ImportConflict as conflict:
            await self.jobs.fail(job_id, message="导入期间有事项被他人修改，未导入任何事项；请重新上传",
                                 issues=[conflict.issue.as_dict()], counts=counts)
            return JobState.FAILED.value
        log.info("matter_import_done", job_id=job_id, department=department.code, **counts, **outcomes)
        return JobState.DONE.value

    async def _apply(self, job: dict[str, Any], department: Department, plan: ImportPlan,
                     counts: dict[str, int]) -> dict[str, int]:
        """Every write of the plan and the job's `done` in one transaction; how many rows had each outcome."""
        actor = Actor(roles=frozenset(), staff_id=job["actor"], department_id=job["actor_department"])
        outcomes = {outcome: sum(1 for i in plan.items if i.outcome == outcome)
                    for outcome in ("created", "updated", "unchanged")}
        results = [{"code": i.guide.code, "name": i.guide.name, "row": i.parsed.row, "outcome": i.outcome}
                   for i in plan.items]

        async def write(session: AsyncClientSession) -> None:  # may run again on a transient error
            now = bson_time()
            for item in plan.items:
                if item.outcome != "unchanged":
                    await self._write_one(item, department, actor, job["_id"], now, session)
            if not await self.jobs.finish(job["_id"], {"results": results, "counts": {**counts, **outcomes}},
                                          session=session):
                raise ImportConflict(SheetIssue(None, None, None, "JOB_TAKEN_OVER", "导入任务已由其他进程接手"))

        async with self.client.start_session() as session:
            await session.with_transaction(write)
        return outcomes

    async def _write_one(self, item: PlannedMatter, department: Department, actor: Actor, job_id: str, now: datetime,
                         session: AsyncClientSession) -> None:
        code, matters = item.guide.code, self.lookups.matters
        where = item.parsed.cells["code"]
        if item.existing is None:
            after: dict[str, Any] | None = new_matter_document(item.guide, department.code, actor, now)
            if not await matters.insert(after, session=session):
                raise ImportConflict(SheetIssue(where.sheet, where.row, where.column, "MATTER_CODE_TAKEN",
                                                "导入期间该事项编码已被使用", code, "code"))
        else:
            try:
                draft = edited_draft(item.existing, item.guide, actor, now)
            except AppError:
                draft = None
            after = None if draft is None else await matters.update(
                code, revision=item.existing["revision"], changes={"draft": draft}, now=now, session=session)
        if after is None:
            raise ImportConflict(SheetIssue(where.sheet, where.row, where.column, "CONFLICT",
                                            "导入期间该事项已被他人修改", code, "code"))
        await self.audit.append(
            actor=actor_id(actor), actor_department=actor.department_id,
            action="matter.create" if item.existing is None else "matter.edit", kind="matter", key=code,
            before=snapshot(item.existing), after=snapshot(after),
            detail={"revision": after["revision"], "import_job": job_id}, session=session)
