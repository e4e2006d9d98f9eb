"""Running a roster import (worker side): read the file, check every row, then upsert the students.

Nothing is written unless every row is good: any problem fails the job with the full report (each bad cell by
row and column). Checks against the database come before any write too: an ID number already registered to
another student number of the school is a problem of that row. Only then are students written, in batches
(`BATCH` rows: insert the new ones, update the changed ones, leave the identical ones alone), with progress after
each batch. Writes are upserts by (school, student number), so a job whose worker died half-way is simply run
again from the start by the next claim and ends in the same state; "all or nothing" is about the checks.

Changed rows are re-encrypted only where the number changed (the blind index tells), so an unchanged roster
imported again reports every student `unchanged`. Guardian links are never touched by an import. When students
were created or changed, `on_roster_changed(school_id)` lets bills of already published fee items catch up
(payments/bill_generation.py is idempotent).

A student who left the school (payments/student_leaving.py) and is still on the roster is NOT made a pupil
again, nor updated: the row is counted `left_kept` and listed in the report's `notices` (row, student number,
when and how they left), and the job's message says so, so a roster exported before the leaving cannot
silently bring the child back (and their bills with them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from affairs.audit import AuditRepository
from core.clock import bson_time
from core.ids import new_id
from core.jobs import JobState
from core.pii import BlindIndex, FieldCipher
from payments.classes import ClassRepository
from payments.roster_jobs import RosterJobRepository
from payments.roster_rows import HEADER, RosterChecker, RosterRow, RowIssue
from payments.roster_sheet import parse_roster
from payments.schools import SchoolRepository
from payments.student_leaving import KIND_LABELS
from payments.students import (
    ID_CONTEXT,
    StudentRepository,
    guardian_phone_index,
    name_key,
    protect_id,
    protect_phone,
)
from storage.object_store import ObjectStore

log = structlog.get_logger(__name__)
INTERNAL_FAILURE = "导入时发生内部错误，请稍后重新上传（已导入的学生不受影响，重新导入不会重复）"
BATCH = 500


def left_notice(row: RosterRow, left: dict[str, Any]) -> RowIssue:
    kind = KIND_LABELS.get(left.get("kind") or "", "离校")
    return RowIssue(row.row, HEADER["student_no"], "STUDENT_LEFT",
                    f"该学生已于 {left.get('on')} {kind}离校，本次导入未恢复为在读，也未更新其信息", row.student_no)


@dataclass
class RosterRunner:
    jobs: RosterJobRepository
    schools: SchoolRepository
    classes: ClassRepository
    students: StudentRepository
    audit: AuditRepository
    objects: ObjectStore
    bucket: str
    cipher: FieldCipher
    index: BlindIndex
    on_roster_changed: Callable[[str], Awaitable[None]] | None = None

    async def run(self, job_id: str) -> str | None:
        """Run the job if it is still to be run; its final state, or None when there was nothing to do."""
        return await self.jobs.run(job_id, self._run, internal_failure=INTERNAL_FAILURE, after=self._delete_upload)

    async def _delete_upload(self, job: dict[str, Any]) -> None:
        await self.objects.delete(self.bucket, job["object_key"])

    async def _run(self, job: dict[str, Any]) -> str:
        job_id, school_id = job["_id"], job["school_id"]
        if await self.schools.get(school_id) is None:
            await self.jobs.fail(job_id, message="学校不存在，未导入任何学生")
            return JobState.FAILED.value
        parsed = parse_roster(await self.objects.get_bytes(self.bucket, job["object_key"]))
        counts = {"rows": len(parsed.rows)}
        if parsed.issues or not parsed.rows:
            issues = parsed.issues or [RowIssue(None, None, "NO_ROWS", "花名册中没有学生")]
            return await self._refuse(job_id, issues, counts)
        await self.jobs.progress(job_id, JobState.VALIDATING, 5, counts=counts)
        checker = RosterChecker()
        for done, (row, cells) in enumerate(parsed.rows, start=1):
            checker.check(row, cells)
            if done % BATCH == 0:
                await self.jobs.progress(job_id, JobState.VALIDATING, 5 + 45 * done // len(parsed.rows))
        issues = checker.issues + await self._taken_ids(school_id, checker.good)
        if issues:
            return await self._refuse(job_id, issues, counts)
        await self.jobs.progress(job_id, JobState.IMPORTING, 60)
        notices: list[RowIssue] = []
        outcome = await self._write(job_id, school_id, checker.good, notices)
        counts.update({k: v for k, v in outcome.items() if v or k != "left_kept"})  # left_kept only when some
        await self.audit.append(actor=job["actor"] or "system:roster-import", actor_department=job["actor_department"],
                                action="roster.import", kind="school", key=school_id, before=None,
                                after=outcome, detail={"import_job": job_id, "rows": len(checker.good)})
        message = f"已导入：新增 {outcome['created']} 名，更新 {outcome['updated']} 名，未变 {outcome['unchanged']} 名"
        if outcome["left_kept"]:
            message += f"；另有 {outcome['left_kept']} 名已离校的学生仍在花名册中，未恢复为在读（见报告）"
        await self.jobs.finish(job_id, counts, message, [notice.as_dict() for notice in notices])
        log.info("roster_import_done", job_id=job_id, school_id=school_id, **counts)
        if self.on_roster_changed is not None and (outcome["created"] or outcome["updated"]):
            await self.on_roster_changed(school_id)
        return JobState.DONE.value

    async def _refuse(self, job_id: str, issues: list[RowIssue], counts: dict[str, int]) -> str:
        counts["issues"] = len(issues)
        await self.jobs.fail(job_id, message=f"发现 {len(issues)} 处错误，未导入任何学生；请按报告修改后重新上传",
                             issues=[issue.as_dict() for issue in issues], counts=counts)
        log.info("roster_import_refused", job_id=job_id, issues=len(issues))
        return JobState.FAILED.value

    async def _taken_ids(self, school_id: str, rows: list[RosterRow]) -> list[RowIssue]:
        """Rows whose ID number the school already has under another student number."""
        issues: list[RowIssue] = []
        for start in range(0, len(rows), BATCH):
            batch = rows[start:start + BATCH]
            keys = {self._id_index(r): r for r in batch}
            for key, number in (await self.students.numbers_by_id_index(school_id, list(keys))).items():
                row = keys[key]
                if number != row.student_no:
                    issues.append(RowIssue(row.row, HEADER["id_number"], "ID_NUMBER_TAKEN",
                                           f"该身份证号已登记在本校学号 {number} 名下", row.student_no))
        return sorted(issues, key=lambda i: i.row or 0)

    def _id_index(self, row: RosterRow) -> str:
        return self.index.id_number(row.citizen_id.number, domain=ID_CONTEXT)

    async def _write(self, job_id: str, school_id: str, rows: list[RosterRow],
                     notices: list[RowIssue]) -> dict[str, int]:
        class_ids = await self.classes.ensure(school_id, ((r.grade, r.class_name) for r in rows))
        outcome = {"created": 0, "updated": 0, "unchanged": 0, "left_kept": 0}
        for start in range(0, len(rows), BATCH):
            batch = rows[start:start + BATCH]
            existing = await self.students.by_numbers(school_id, [r.student_no for r in batch])
            fresh: list[dict[str, Any]] = []
            changed: list[tuple[str, dict[str, Any]]] = []
            now = bson_time()
            for row in batch:
                class_id = class_ids[(row.grade, row.class_name)]
                current = existing.get(row.student_no)
                if current is None:
                    fresh.append(self._new_student(school_id, row, class_id, job_id, now))
                    continue
                if current.get("left"):
                    notices.append(left_notice(row, current["left"]))
                    continue
                changes = self._changes(current, row, class_id)
                if changes:
                    changed.append((current["_id"], {**changes, "updated_at": now, "last_import_job": job_id}))
            await self.students.insert_many(fresh)
            await self.students.update_roster(changed)
            outcome["created"] += len(fresh)
            outcome["updated"] += len(changed)
            left_here = sum(1 for row in batch if (existing.get(row.student_no) or {}).get("left"))
            outcome["left_kept"] += left_here
            outcome["unchanged"] += len(batch) - len(fresh) - len(changed) - left_here
            done = start + len(batch)
            await self.jobs.progress(job_id, JobState.IMPORTING, min(99, 60 + 40 * done // len(rows)))
        return outcome

    def _new_student(self, school_id: str, row: RosterRow, class_id: str, job_id: str, now: Any) -> dict[str, Any]:
        return {
            "_id": new_id(), "school_id": school_id, "student_no": row.student_no, "name": row.name,
            "name_key": name_key(row.name), "grade": row.grade, "class_id": class_id, "class_name": row.class_name,
            "id_number": protect_id(row.citizen_id.number, self.cipher, self.index),
            "guardian_phones": [protect_phone(p.e164, self.cipher, self.index) for p in row.phones],
            "guardian_person_ids": [], "guardians": [], "version": 0, "created_at": now, "updated_at": now,
            "import_job": job_id, "last_import_job": job_id,
        }

    def _changes(self, current: dict[str, Any], row: RosterRow, class_id: str) -> dict[str, Any]:
        """The roster fields that differ (numbers compared by blind index, re-encrypted only when changed)."""
        changes: dict[str, Any] = {}
        for key, value in (("name", row.name), ("grade", row.grade), ("class_id", class_id),
                           ("class_name", row.class_name)):
            if current.get(key) != value:
                changes[key] = value
        if "name" in changes:
            changes["name_key"] = name_key(row.name)
        if current["id_number"]["index"] != self._id_index(row):
            changes["id_number"] = protect_id(row.citizen_id.number, self.cipher, self.index)
        wanted = [guardian_phone_index(p.e164, self.index) for p in row.phones]
        if [p["index"] for p in current.get("guardian_phones", [])] != wanted:
            changes["guardian_phones"] = [protect_phone(p.e164, self.cipher, self.index) for p in row.phones]
        return changes
