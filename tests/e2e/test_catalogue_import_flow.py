"""The xlsx import and export over HTTP, with the real Celery worker running the jobs: a broken file gives a
row-by-row report, a good one becomes audited drafts, an export re-imports clean, and only the right people get
in (403 for another department and for residents, 413 and 415 as JSON)."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from affairs.audit import AuditRepository
from affairs.demo_catalogue import SeedReport
from affairs.demo_kit import DEPT
from affairs.matter_sheet_columns import SHEETS
from affairs.matter_sheet_write import XLSX_MEDIA_TYPE
from config.wiring import Dependencies
from tests.support.catalogue import Caller, resident_caller, staff_caller
from tests.support.sheets import edit, fresh_bodies, rows_of, workbook
from tests.support.worker import CeleryWorker

pytestmark = pytest.mark.slow
EDU, MARKET, YUELU_EDU = DEPT["nx_edu"], DEPT["nx_market"], DEPT["yl_edu"]
IMPORTS = "/api/v1/admin/matters/imports"
XLSX = {"Content-Type": XLSX_MEDIA_TYPE}


@pytest.fixture(scope="module")
async def callers(deps: Dependencies, demo_catalogue: SeedReport, celery_worker: CeleryWorker) -> dict[str, Caller]:
    return {
        "edu_admin": await staff_caller(deps, EDU),
        "market_admin": await staff_caller(deps, MARKET),
        "yuelu_supervisor": await staff_caller(deps, YUELU_EDU, roles=("supervisor",)),
        "resident": await resident_caller(deps),
    }


async def _finished(api: httpx.AsyncClient, location: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll the job until it is done or failed (the worker runs it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = (await api.get(location, headers=headers)).json()
        if job["state"] in ("done", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"import still {job['state']} after 30 s")


async def _upload(api: httpx.AsyncClient, data: bytes, caller: Caller, **params: str) -> httpx.Response:
    return await api.post(IMPORTS, content=data, params=params, headers={**caller.headers, **XLSX})


async def test_broken_file_gets_a_row_by_row_report(api: httpx.AsyncClient, callers: dict[str, Caller]) -> None:
    admin = callers["edu_admin"].headers
    bodies = fresh_bodies(EDU, 3)
    broken = edit(workbook(bodies), {
        ("事项", 2, "法定时限（工作日）"): -5,
        ("事项", 3, "适用区划代码"): "430199",
        ("事项", 4, "收费金额（分）"): 99.9,
        ("申请材料", 2, "可替代的电子证照"): "不存在的证照",
    })
    accepted = await _upload(api, broken, callers["edu_admin"])
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["state"] == "queued" and accepted.headers["Location"].endswith(accepted.json()["job_id"])
    job = await _finished(api, accepted.headers["Location"], admin)
    assert job["state"] == "failed" and "未导入任何事项" in job["message"]
    report = [(i["sheet"], i["row"], i["column"], i["reason"]) for i in job["issues"]]
    assert report == [
        ("事项", 2, "法定时限（工作日）", "须大于 0"),
        ("事项", 3, "适用区划代码", "没有代码为 430199 的行政区划"),
        ("事项", 4, "收费金额（分）", "须为整数，不能有小数（填写的是 99.9）"),
        ("申请材料", 2, "可替代的电子证照", report[3][3]),
    ]
    assert "不存在的证照" in report[3][3] and job["issues_total"] == 4
    for body in bodies:
        assert (await api.get(f"/api/v1/admin/matters/{body['code']}", headers=admin)).status_code == 404
    other = await api.get(accepted.headers["Location"], headers=callers["market_admin"].headers)
    assert other.status_code == 403 and other.json()["errcode"] == "FORBIDDEN"


async def test_good_file_becomes_audited_drafts(api: httpx.AsyncClient, deps: Dependencies,
                                                callers: dict[str, Caller]) -> None:
    admin = callers["edu_admin"].headers
    bodies = fresh_bodies(EDU, 4)
    data = workbook(bodies)
    accepted = await _upload(api, data, callers["edu_admin"])
    assert accepted.status_code == 202, accepted.text
    job = await _finished(api, accepted.headers["Location"], admin)
    assert job["state"] == "done" and job["progress"] == 100, job
    assert job["counts"]["created"] == 4 and [r["outcome"] for r in job["results"]] == ["created"] * 4
    for body in bodies:
        matter = (await api.get(f"/api/v1/admin/matters/{body['code']}", headers=admin)).json()
        assert matter["status"] == "draft" and matter["published_version"] is None
        assert matter["draft"]["guide"]["name"] == body["name"]
        assert (await api.get(f"/api/v1/matters/{body['code']}")).status_code == 404  # not published
        trail = await AuditRepository(deps.db).for_subject("matter", body["code"])
        assert [(e.action, e.actor, e.detail["import_job"]) for e in trail] == \
            [("matter.create", callers["edu_admin"].actor.staff_id, job["job_id"])]  # type: ignore[union-attr]
    again = await _upload(api, data, callers["edu_admin"])
    assert again.status_code == 200 and again.json()["job_id"] == job["job_id"]  # same file: same job


async def test_export_then_reimport_changes_nothing(api: httpx.AsyncClient, callers: dict[str, Caller]) -> None:
    admin = callers["edu_admin"].headers
    exported = await api.get("/api/v1/admin/matters/export", headers=admin)
    assert exported.status_code == 200, exported.text
    assert exported.headers["Content-Type"] == XLSX_MEDIA_TYPE and ".xlsx" in exported.headers["Content-Disposition"]
    codes = [row["事项编码"] for row in rows_of(exported.content, "事项")]
    assert {"430182-JY-0001", "430182-JY-0002", "430182-JY-0003", "430182-JY-0004"} <= set(codes)
    listed = (await api.get("/api/v1/matters", params={"department": EDU, "limit": 50})).json()["items"]
    assert sorted(codes) == sorted(m["code"] for m in listed)
    accepted = await _upload(api, exported.content, callers["edu_admin"])
    job = await _finished(api, accepted.headers["Location"], admin)
    assert job["state"] == "done" and job["issues"] == []
    assert {r["code"]: r["outcome"] for r in job["results"]} == dict.fromkeys(codes, "unchanged")


async def test_only_the_departments_admins_and_its_supervisors(api: httpx.AsyncClient,
                                                               callers: dict[str, Caller]) -> None:
    data = workbook(fresh_bodies(EDU, 1))
    other = await _upload(api, data, callers["market_admin"], department=EDU)
    assert other.status_code == 403 and other.json()["errcode"] == "FORBIDDEN"
    exported = await api.get("/api/v1/admin/matters/export", params={"department": EDU},
                             headers=callers["market_admin"].headers)
    assert exported.status_code == 403 and exported.json()["errcode"] == "FORBIDDEN"
    resident = callers["resident"].headers
    assert (await api.post(IMPORTS, content=data, headers={**resident, **XLSX})).json()["errcode"] == "STAFF_ONLY"
    assert (await api.get("/api/v1/admin/matters/export", headers=resident)).status_code == 403
    supervisor = callers["yuelu_supervisor"].headers
    region = await api.get("/api/v1/admin/matters/export", headers=supervisor)
    assert region.status_code == 200
    assert {row["适用区划代码"] for row in rows_of(region.content, "事项")} == {"430104"}
    outside = await api.get("/api/v1/admin/matters/export", params={"department": EDU}, headers=supervisor)
    assert outside.status_code == 403
    assert (await _upload(api, data, callers["yuelu_supervisor"])).status_code == 403  # reads, never imports


def _length(answer: bytes) -> int:
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    return next((int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.startswith("content-length:")), 0)


async def test_upload_limits_answer_json(api: httpx.AsyncClient, api_server: Any, callers: dict[str, Caller]) -> None:
    admin = callers["edu_admin"]
    host, port = api_server[1].removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = (f"POST {IMPORTS} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {XLSX_MEDIA_TYPE}\r\n"
               f"Authorization: {admin.headers['Authorization']}\r\nContent-Length: {6 * 1024 * 1024}\r\n\r\n")
    writer.write(request.encode())  # the headers only: the answer must come before any of the body
    await writer.drain()
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
        chunk = await asyncio.wait_for(reader.read(65536), 5)
        assert chunk, answer
        answer += chunk
    writer.close()
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"application/json" in head
    assert json.loads(rest)["errcode"] == "BODY_TOO_LARGE" and "5 MB" in json.loads(rest)["errmsg"]
    wrong = await api.post(IMPORTS, content=workbook([]), headers={**admin.headers, "Content-Type": "text/csv"})
    assert wrong.status_code == 415 and wrong.json()["errcode"] == "UNSUPPORTED_MEDIA_TYPE"
    assert XLSX_MEDIA_TYPE in wrong.json()["errmsg"]
    not_xlsx = await _upload(api, b"code,name\nA,B\n", admin)
    assert not_xlsx.status_code == 422 and not_xlsx.json()["errcode"] == "IMPORT_FILE_INVALID"
    missing = await api.get(f"{IMPORTS}/01NOSUCHJOB", headers=admin.headers)
    assert missing.status_code == 404 and missing.json()["errcode"] == "IMPORT_JOB_NOT_FOUND"


async def test_template_download(api: httpx.AsyncClient, callers: dict[str, Caller]) -> None:
    template = await api.get("/api/v1/admin/matters/import-template", headers=callers["edu_admin"].headers)
    assert template.status_code == 200 and template.headers["Content-Type"] == XLSX_MEDIA_TYPE
    book = load_workbook(io.BytesIO(template.content))
    for sheet in SHEETS:
        assert [c.value for c in book[sheet.title][1]] == [c.header for c in sheet.columns]
    refused = await api.get("/api/v1/admin/matters/import-template", headers=callers["resident"].headers)
    assert refused.status_code == 403 and refused.json()["errcode"] == "STAFF_ONLY"
