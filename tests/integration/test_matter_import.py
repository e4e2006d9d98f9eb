"""The xlsx import against the real MongoDB (transactions), S3 and the real catalogue rules: the job's life,
all or nothing, every rule placed on its cell, the same file twice, existing codes, and a conflict arriving
between the check and the write. The job is run in-process here (the Celery path is tested in e2e)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from minio.error import S3Error

from affairs.audit import AuditRepository
from affairs.demo_catalogue import SeedReport
from affairs.demo_kit import DEPT
from affairs.import_checks import CatalogueLookups
from affairs.import_run import ImportRunner
from affairs.import_service import MatterImports
from affairs.imports import ImportJobRepository
from config.wiring import Dependencies
from core.errors import AppError
from core.idempotency import IdempotencyRepository
from core.jobs import JobState
from tests.support.catalogue import dept_admin_actor
from tests.support.sheets import edit, fresh_bodies, rows_of, workbook

HEALTH, HRSS, POLICE = DEPT["nx_health"], DEPT["nx_hrss"], DEPT["nx_police"]


class ObservedJobs(ImportJobRepository):
    """The real repository, recording each progress write and running a hook before the import phase."""

    seen: list[tuple[str, int]]
    before_import: Callable[[], Awaitable[None]] | None = None

    async def progress(self, job_id: str, state: JobState, percent: int, **fields: Any) -> None:
        self.seen.append((state.value, percent))
        if state is JobState.IMPORTING and self.before_import is not None:
            await self.before_import()
        await super().progress(job_id, state, percent, **fields)


@dataclass
class Importing:
    service: MatterImports
    runner: ImportRunner
    jobs: ObservedJobs
    sent: list[str] = field(default_factory=list)


@pytest.fixture
async def imp(deps: Dependencies, demo_catalogue: SeedReport) -> Importing:
    sent: list[str] = []

    async def publish(name: str, job_id: str, *, queue: str) -> str:
        sent.append(job_id)
        return "task"

    jobs = ObservedJobs(deps.db)
    jobs.seen = []
    bucket = deps.settings.s3_bucket_documents
    cat = deps.catalogue
    service = MatterImports(jobs, cat.departments, IdempotencyRepository(deps.db), deps.objects, bucket, publish)
    lookups = CatalogueLookups(cat.departments, cat.regions, cat.admin.matters, cat.admin.versions)
    runner = ImportRunner(deps.mongo, jobs, lookups, AuditRepository(deps.db), deps.objects, bucket)
    return Importing(service, runner, jobs, sent)


async def test_job_lifecycle_imports_audited_drafts(deps: Dependencies, imp: Importing) -> None:
    actor = dept_admin_actor(HEALTH)
    bodies = fresh_bodies(HEALTH, 3)
    data = workbook(bodies)
    job, created = await imp.service.submit(actor, None, data)
    assert created and job["state"] == "queued" and imp.sent == [job["_id"]]
    assert await deps.objects.get_bytes(deps.settings.s3_bucket_documents, job["object_key"]) == data

    assert await imp.runner.run(job["_id"]) == "done"
    assert imp.jobs.seen[0] == ("validating", 10) and imp.jobs.seen[-1] == ("importing", 90)
    assert [p for _, p in imp.jobs.seen] == sorted(p for _, p in imp.jobs.seen)
    done = await imp.service.get(actor, job["_id"])
    assert done["state"] == "done" and done["progress"] == 100 and done["attempts"] == 1
    assert done["counts"] == {"matters": 3, "materials": sum(len(b["materials"]) for b in bodies),
                              "steps": sum(len(b["process"]) for b in bodies), "places": 3,
                              "created": 3, "updated": 0, "unchanged": 0}
    assert [(r["code"], r["row"], r["outcome"]) for r in done["results"]] == \
        [(b["code"], row, "created") for row, b in enumerate(bodies, start=2)]
    for body in bodies:
        doc = await deps.catalogue.admin.matters.get(body["code"])
        assert doc is not None and doc["draft"]["state"] == "draft" and doc["draft"]["version"] == 1
        assert doc["listed"] is False and doc["draft"]["guide"] == {k: v for k, v in body.items() if k != "code"}
        trail = await AuditRepository(deps.db).for_subject("matter", body["code"])
        assert [(e.action, e.actor, e.detail["import_job"]) for e in trail] == \
            [("matter.create", actor.staff_id, job["_id"])]
    with pytest.raises(S3Error):
        await deps.objects.get_bytes(deps.settings.s3_bucket_documents, job["object_key"])  # temporary: gone
    assert await imp.runner.run(job["_id"]) is None  # a re-delivered task does nothing
    again, created = await imp.service.submit(actor, None, data)
    assert not created and again["_id"] == job["_id"]  # the same file: the same (done) job
    other = dept_admin_actor(POLICE)
    with pytest.raises(AppError) as refused:
        await imp.service.get(other, job["_id"])
    assert refused.value.error.code == "FORBIDDEN"


async def test_ten_good_rows_and_one_bad_import_nothing(deps: Dependencies, imp: Importing) -> None:
    actor = dept_admin_actor(HEALTH)
    bodies = fresh_bodies(HEALTH, 11)
    data = edit(workbook(bodies), {("事项", 12, "法定时限（工作日）"): 0})
    job, _ = await imp.service.submit(actor, None, data)
    assert await imp.runner.run(job["_id"]) == "failed"
    failed = await imp.jobs.get(job["_id"])
    assert [(i["sheet"], i["row"], i["column"], i["errcode"], i["reason"]) for i in failed["issues"]] == \
        [("事项", 12, "法定时限（工作日）", "GREATER_THAN", "须大于 0")]
    assert failed["issues"][0]["matter_code"] == bodies[10]["code"] and failed["counts"]["issues"] == 1
    assert "未导入任何事项" in failed["message"] and "active_key" not in failed
    assert await deps.catalogue.admin.matters.many([b["code"] for b in bodies]) == {}
    retried, created = await imp.service.submit(actor, None, data)  # a failed job does not block a retry
    assert created and retried["_id"] != job["_id"]


def _first_rows(bodies: list[dict[str, Any]], field_name: str) -> list[int]:
    """The Excel row of each matter's first item on a list sheet."""
    rows, row = [], 2
    for body in bodies:
        rows.append(row)
        row += len(body[field_name])
    return rows


async def test_every_rule_is_reported_on_its_cell(deps: Dependencies, imp: Importing) -> None:
    bodies = fresh_bodies(HEALTH, 12)
    bodies[9]["places"] = []  # a window matter without a place
    bodies[10]["code"] = "430182-GA-0001"  # a police matter's code
    mat, step = _first_rows(bodies, "materials"), _first_rows(bodies, "process")
    schema = '{"type": "object", "properties": {"name": {"type": "strin", "title": "姓名"}}}'
    data = edit(workbook(bodies), {
        ("事项", 2, "实施部门编码"): "11430182000000000X",
        ("事项", 3, "实施部门编码"): POLICE,
        ("事项", 4, "适用区划代码"): "430199",
        ("事项", 5, "适用区划代码"): "430104",
        ("事项", 6, "申请表单（JSON Schema）"): schema,
        ("事项", 7, "承诺时限（工作日）"): 400,
        ("事项", 8, "收费金额（分）"): 12.5, ("事项", 8, "是否免费"): "否", ("事项", 8, "收费依据"): "湘价费〔2020〕1 号",
        ("事项", 9, "事项名称"): None,
        ("申请材料", mat[0], "可替代的电子证照"): "独角兽证",
        ("申请材料", mat[1], "原件份数"): 0, ("申请材料", mat[1], "复印件份数"): 0,
        ("办理流程", step[2], "环节时限（工作日）"): -1,
        ("事项", 13, "是否免费"): "否",
    })
    job, _ = await imp.service.submit(dept_admin_actor(HEALTH), None, data)
    assert await imp.runner.run(job["_id"]) == "failed"
    issues = (await imp.jobs.get(job["_id"]))["issues"]
    found = {(i["sheet"], i["row"], i["column"]): (i["errcode"], i["reason"]) for i in issues}
    assert found == {
        ("事项", 2, "实施部门编码"): ("DEPARTMENT_UNKNOWN", "没有编码为 11430182000000000X 的部门"),
        ("事项", 3, "实施部门编码"): ("DEPARTMENT_NOT_IMPORTING", found[("事项", 3, "实施部门编码")][1]),
        ("事项", 4, "适用区划代码"): ("REGION_UNKNOWN", "没有代码为 430199 的行政区划"),
        ("事项", 5, "适用区划代码"): ("REGION_OUTSIDE_DEPARTMENT", "适用区划须在实施部门所在区划（430182）之内"),
        ("事项", 6, "申请表单（JSON Schema）"): ("VALUE_ERROR", found[("事项", 6, "申请表单（JSON Schema）")][1]),
        ("事项", 7, "承诺时限（工作日）"): ("LESS_THAN_EQUAL", "须不大于 365"),
        ("事项", 8, "收费金额（分）"): ("CELL_NOT_INTEGER", "须为整数，不能有小数（填写的是 12.5）"),
        ("事项", 9, "事项名称"): ("MISSING", "此项为必填项"),
        ("申请材料", mat[0], "可替代的电子证照"): ("CELL_NOT_ALLOWED", found[("申请材料", mat[0], "可替代的电子证照")][1]),
        ("申请材料", mat[1], "复印件份数"): ("VALUE_ERROR", "原件和复印件份数不能都为 0"),
        ("办理流程", step[2], "环节时限（工作日）"): ("GREATER_THAN_EQUAL", "须不小于 0"),
        ("事项", 11, "事项编码"): ("VALUE_ERROR", "「办理地点」表：支持窗口办理或须现场办理的事项须列出办理地点和时间"),
        ("事项", 12, "事项编码"): ("MATTER_CODE_TAKEN", "事项编码已被其他部门的事项使用，请换一个"),
        ("事项", 13, "收费金额（分）"): ("VALUE_ERROR", "收费金额以“分”为单位，须为整数（如 12.50 元填 1250）"),
        ("事项", 13, "收费依据"): ("VALUE_ERROR", "收费事项须写明收费依据"),
    }
    assert "宁乡市卫生健康局" in found[("事项", 3, "实施部门编码")][1]
    assert "不是有效的 JSON Schema" in found[("事项", 6, "申请表单（JSON Schema）")][1]
    assert "独角兽证" in found[("申请材料", mat[0], "可替代的电子证照")][1]
    assert [(i["sheet"], i["row"]) for i in issues] == sorted(((i["sheet"], i["row"]) for i in issues),
                                                             key=lambda k: (["事项", "申请材料", "办理流程"].index(k[0]), k[1]))
    assert await deps.catalogue.admin.matters.many([b["code"] for b in bodies if b["code"] != "430182-GA-0001"]) == {}


async def test_same_file_and_idempotency_keys(imp: Importing) -> None:
    actor = dept_admin_actor(HEALTH)
    first, second = workbook(fresh_bodies(HEALTH, 1)), workbook(fresh_bodies(HEALTH, 1))
    job, created = await imp.service.submit(actor, None, first)
    same, again = await imp.service.submit(actor, None, first)
    assert created and not again and same["_id"] == job["_id"] and imp.sent == [job["_id"]]
    key = secrets.token_hex(8)
    keyed, _ = await imp.service.submit(actor, None, second, idempotency_key=key)
    replay, replayed_new = await imp.service.submit(actor, None, second, idempotency_key=key)
    assert replay["_id"] == keyed["_id"] and not replayed_new
    with pytest.raises(AppError) as reused:
        await imp.service.submit(actor, None, first, idempotency_key=key)
    assert reused.value.error.code == "IDEMPOTENCY_KEY_REUSED"
    for department, data, errcode in ((POLICE, first, "FORBIDDEN"), (None, b"name,code\n", "IMPORT_FILE_INVALID")):
        with pytest.raises(AppError) as refused:
            await imp.service.submit(actor, department, data)
        assert refused.value.error.code == errcode


async def test_existing_codes_become_new_drafts_or_stay_unchanged(deps: Dependencies, imp: Importing) -> None:
    actor = dept_admin_actor(HRSS)
    exported, _ = await deps.catalogue.export.export(actor, None)
    before = await deps.catalogue.admin.matters.get("430182-RS-0001")
    assert before is not None and before["listed"] and not before["draft"]
    first = rows_of(exported, "事项")[0]
    assert first["事项编码"] == "430182-RS-0001"  # rows are in code order
    changed = edit(exported, {("事项", 2, "简介"): first["简介"] + "（已更新）"})
    job, _ = await imp.service.submit(actor, None, changed)
    assert await imp.runner.run(job["_id"]) == "done"
    done = await imp.jobs.get(job["_id"])
    outcomes = {r["code"]: r["outcome"] for r in done["results"]}
    assert outcomes["430182-RS-0001"] == "updated" and set(outcomes.values()) <= {"updated", "unchanged"}
    assert list(outcomes.values()).count("updated") == 1 and done["counts"]["updated"] == 1
    after = await deps.catalogue.admin.matters.get("430182-RS-0001")
    assert after is not None and after["listed"] and after["published"]["version"] == before["published"]["version"]
    assert after["draft"]["version"] == before["latest_version"] + 1 and after["draft"]["guide"]["summary"].endswith("（已更新）")
    trail = await AuditRepository(deps.db).for_subject("matter", "430182-RS-0001")
    assert trail[-1].action == "matter.edit" and trail[-1].detail["import_job"] == job["_id"]


async def test_a_conflict_between_check_and_write_leaves_nothing(deps: Dependencies, imp: Importing) -> None:
    actor = dept_admin_actor(HEALTH)
    bodies = fresh_bodies(HEALTH, 3)

    async def someone_takes_the_last_code() -> None:
        await deps.catalogue.admin.create(actor, bodies[2])

    imp.jobs.before_import = someone_takes_the_last_code
    job, _ = await imp.service.submit(actor, None, workbook(bodies))
    assert await imp.runner.run(job["_id"]) == "failed"
    failed = await imp.jobs.get(job["_id"])
    assert [(i["sheet"], i["row"], i["column"], i["errcode"]) for i in failed["issues"]] == \
        [("事项", 4, "事项编码", "MATTER_CODE_TAKEN")]
    assert set(await deps.catalogue.admin.matters.many([b["code"] for b in bodies])) == {bodies[2]["code"]}
    for body in bodies[:2]:  # written inside the aborted transaction: neither the matters nor their audit rows
        assert await AuditRepository(deps.db).for_subject("matter", body["code"]) == []
