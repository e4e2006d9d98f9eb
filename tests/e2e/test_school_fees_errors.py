"""Bad input to every school-fee endpoint: a 4xx JSON error `{errcode, errmsg, request_id}` naming what is wrong,
never a 500, and nothing written. Bad roster files are refused by the job's report, not by the upload."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
from openpyxl import Workbook, load_workbook

from affairs.demo_kit import DEPT, YUTAN
from config.wiring import Dependencies
from payments.roster_sheet import XLSX_MEDIA_TYPE
from tests.support.school_parents import link_child, resident_parent
from tests.support.schools import (
    School,
    classes,
    create_fee_item,
    enrolled,
    fee_item_body,
    import_roster,
    new_pupils,
    new_school_code,
    published_item,
    register_school,
    upload_roster,
)
from tests.support.sms import SmsSim
from tests.support.wechat import SimControl

MISSING = "01ZZZZZZZZZZZZZZZZZZZZZZZZ"


def refused(response: httpx.Response, status: int, errcode: str) -> dict[str, Any]:
    """The answer is the documented JSON error with this status and errcode."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["errcode"] == errcode and body["errmsg"] and body["request_id"], body
    assert response.headers["X-Request-ID"] == body["request_id"]
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def workbook(sheet: str, rows: list[list[Any]]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_school_registration_refuses_bad_input(
        api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    admin = school.officials.education.headers
    path = "/api/v1/admin/schools"
    good = {"code": new_school_code(), "name": "宁乡市玉潭街道测试中学", "region_code": YUTAN,
            "price_department_code": DEPT["nx_ndrc"]}

    wrong_check = good["code"][:-1] + ("0" if good["code"][-1] != "0" else "1")
    bad_code = refused(await api.post(path, headers=admin, json={**good, "code": wrong_check}), 422,
                       "VALIDATION_FAILED")
    assert fields(bad_code) == {"code"}
    several = refused(await api.post(path, headers=admin, json={**good, "region_code": "430182999",
                                                                "price_department_code": DEPT["nx_edu"]}),
                      422, "VALIDATION_FAILED")
    assert fields(several) == {"region_code", "price_department_code"}  # every bad field at once
    refused(await api.post(path, headers=admin, json={**good, "extra": 1}), 422, "VALIDATION_FAILED")
    refused(await api.post(path, headers=admin, json={**good, "name": 42}), 422, "VALIDATION_FAILED")
    refused(await api.post(path, headers=admin | {"Content-Type": "application/json"}, content=b'{"code": '),
            400, "INVALID_JSON")
    refused(await api.post(path, headers=admin, json=[good]), 422, "VALIDATION_FAILED")
    taken = {**good, "code": school.code}
    refused(await api.post(path, headers=admin, json=taken), 409, "SCHOOL_CODE_TAKEN")
    outside = {**good, "region_code": "430104005"}  # 岳麓街道: outside the admin's region
    refused(await api.post(path, headers=admin, json=outside), 403, "FORBIDDEN")
    refused(await api.post(path, headers=school.headers, json=good), 403, "FORBIDDEN")  # finance staff
    refused(await api.post(path, json=good), 401, "UNAUTHORIZED")
    refused(await api.get(f"/api/v1/schools/{new_school_code()}", headers=admin), 404, "SCHOOL_NOT_FOUND")
    shown = await api.get(f"/api/v1/schools/{school.code}", headers=admin)
    assert shown.status_code == 200 and shown.json()["price_department"]["code"] == DEPT["nx_ndrc"]


async def test_roster_uploads_refuse_bad_files(
        api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    base = f"/api/v1/schools/{school.code}/roster/imports"
    refused(await api.post(base, headers=school.headers | {"Content-Type": "text/csv"}, content=b"a,b"),
            415, "UNSUPPORTED_MEDIA_TYPE")
    refused(await upload_roster(api, school, b"not a workbook"), 422, "ROSTER_FILE_INVALID")
    refused(await upload_roster(api, school, b""), 422, "ROSTER_FILE_INVALID")

    # a zip that is no workbook, a workbook without the sheet, without the headers, without rows
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hello.txt", "hi")
    for data, errcode in ((archive.getvalue(), "FILE_INVALID"),
                          (workbook("Sheet1", [["学号"]]), "SHEET_MISSING"),
                          (workbook("花名册", [["学号", "姓名"], ["1", "王一"]]), "HEADER_MISSING"),
                          (workbook("花名册", [["学号", "姓名", "年级", "班级", "学生身份证号"]]), "NO_ROWS")):
        job = await import_roster(api, school, data)
        assert job["state"] == "failed" and [i["errcode"] for i in job["issues"]] == [errcode], job
    assert await classes(api, school) == {}

    job = await import_roster(api, school, workbook("花名册", [
        ["学号", "姓名", "年级", "班级", "学生身份证号", "监护人手机号1", "监护人手机号2"],
        ["430182201801010012", "王一", "一年级", "1班", "4301822018", "13800000000", "13800000000"],
        ["A 1", "王小1", "", "1班", 430182201801010000, "010-88888888", None],
    ]))
    issues = {(i["row"], i["column"], i["errcode"]) for i in job["issues"]}
    assert {(2, "学号", "STUDENT_NO_INVALID"), (2, "学生身份证号", "CITIZEN_ID_FORMAT"),
            (2, "监护人手机号2", "PHONE_DUPLICATE"), (3, "学号", "STUDENT_NO_INVALID"), (3, "姓名", "NAME_INVALID"),
            (3, "年级", "CELL_REQUIRED"), (3, "监护人手机号1", "PHONE_NOT_MOBILE")} <= issues, job["issues"]

    refused(await api.get(f"{base}/{MISSING}", headers=school.headers), 404, "ROSTER_IMPORT_NOT_FOUND")
    other = await register_school(deps, api, sms, school.officials)
    elsewhere = await api.get(f"/api/v1/schools/{other.code}/roster/imports/{job['job_id']}", headers=other.headers)
    refused(elsewhere, 404, "ROSTER_IMPORT_NOT_FOUND")
    foreign = await api.get(f"{base}/{job['job_id']}", headers=other.headers)  # another school's finance staff
    refused(foreign, 403, "FORBIDDEN")
    refused(await api.post(base, content=b"PK\x03\x04", headers=other.headers | {"Content-Type": XLSX_MEDIA_TYPE}),
            403, "FORBIDDEN")  # another school's roster


async def test_fee_items_refuse_bad_input(
        api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    await enrolled(api, school, new_pupils(1))
    path = f"/api/v1/schools/{school.code}/fee-items"
    cases = {
        "amount_fen": (120.5, "12000", 0, -1, 10_000_001, True, None),
        "term": ("2026-summer", "26-autumn", ""),
        "name": ("x", "名" * 61),
        "basis": ("依据",),
        "grades": (["一年级", ""], "一年级"),
        "class_ids": ([MISSING],),
    }
    for field, values in cases.items():
        for value in values:
            body = refused(await api.post(path, headers=school.headers, json=fee_item_body(**{field: value})),
                           422, "VALIDATION_FAILED")
            assert {f.split(".")[0] for f in fields(body)} == {field}, (field, value, body)
    nobody = refused(await api.post(path, headers=school.headers, json=fee_item_body(grades=[])), 422,
                     "VALIDATION_FAILED")
    assert nobody["errors"], nobody
    refused(await api.post(path, headers=school.headers, json={**fee_item_body(), "state": "published"}),
            422, "VALIDATION_FAILED")
    refused(await api.post(f"/api/v1/schools/{new_school_code()}/fee-items", headers=school.headers,
                           json=fee_item_body()), 404, "SCHOOL_NOT_FOUND")
    refused(await api.get(path, headers=school.headers, params={"state": "paid"}), 422, "VALIDATION_FAILED")
    assert (await api.get(path, headers=school.headers)).json()["items"] == []  # nothing was written

    item = await create_fee_item(api, school)
    for action in ("submit", "approve", "reject", "publish", "withdraw"):
        reason = {"reason": "原因原因"} if action in ("reject", "withdraw") else {}
        refused(await api.post(f"/api/v1/fee-items/{item['id']}/{action}", headers=school.headers, json={}),
                422, "VALIDATION_FAILED")
        refused(await api.post(f"/api/v1/fee-items/{item['id']}/{action}", headers=school.headers,
                               json={"revision": -1, **reason}), 422, "VALIDATION_FAILED")
        refused(await api.post(f"/api/v1/fee-items/{MISSING}/{action}", headers=school.headers,
                               json={"revision": 0, **reason}), 404, "FEE_ITEM_NOT_FOUND")
    refused(await api.get(f"/api/v1/fee-items/{MISSING}", headers=school.headers), 404, "FEE_ITEM_NOT_FOUND")
    refused(await api.put(f"/api/v1/fee-items/{item['id']}", headers=school.headers, json=fee_item_body()),
            422, "VALIDATION_FAILED")  # no revision
    refused(await api.delete(f"/api/v1/fee-items/{item['id']}", headers=school.headers), 405, "METHOD_NOT_ALLOWED")
    other = await register_school(deps, api, sms, school.officials)
    refused(await api.get(f"/api/v1/fee-items/{item['id']}", headers=other.headers), 403, "FORBIDDEN")
    edit = {**fee_item_body(), "revision": 0}
    refused(await api.put(f"/api/v1/fee-items/{item['id']}", headers=other.headers, json=edit), 403, "FORBIDDEN")


async def test_school_records_and_parent_links_refuse_bad_input(
        api: httpx.AsyncClient, wechat: SimControl, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school: School = await register_school(deps, api, sms)
    pupils = new_pupils(1)
    roster = await enrolled(api, school, pupils)
    [klass] = (await classes(api, school)).values()
    base = f"/api/v1/schools/{school.code}"
    refused(await api.get(f"{base}/classes/{MISSING}/students", headers=school.headers), 404, "CLASS_NOT_FOUND")
    refused(await api.get(f"{base}/classes/{MISSING}/bills/export", headers=school.headers), 404, "CLASS_NOT_FOUND")
    refused(await api.post(f"{base}/students/{MISSING}/link-codes", headers=school.headers), 404,
            "STUDENT_NOT_FOUND")
    other = await register_school(deps, api, sms, school.officials)
    student_id = roster[pupils[0].student_no]["id"]
    refused(await api.post(f"/api/v1/schools/{other.code}/students/{student_id}/link-codes", headers=other.headers),
            404, "STUDENT_NOT_FOUND")  # another school's pupil
    refused(await api.get(f"/api/v1/schools/{other.code}/classes/{klass['id']}/bills/export", headers=other.headers),
            404, "CLASS_NOT_FOUND")
    refused(await api.get(f"{base}/classes/{klass['id']}/bills/export", headers=other.headers), 403, "FORBIDDEN")

    # a class name Excel refuses as a sheet title (the roster takes any text) still exports
    odd = new_pupils(1, grade="一年级", class_name="实验[1/2]班", prefix="X")
    await enrolled(api, school, odd)
    await published_item(api, school, grades=["一年级"])
    odd_class = (await classes(api, school))[("一年级", "实验[1/2]班")]["id"]
    export = await api.get(f"{base}/classes/{odd_class}/bills/export", headers=school.headers)
    assert export.status_code == 200, export.text
    assert "/" not in export.headers["content-disposition"].split("''", 1)[1]
    sheet = load_workbook(io.BytesIO(export.content), read_only=True).active
    assert sheet.title == "一年级实验_1_2_班" and [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        odd[0].student_no]

    parent = await resident_parent(api, wechat)
    me = "/api/v1/me/children"
    for body in ({}, {"name": "", "id_number": pupils[0].id_number}, {"name": pupils[0].name, "id_number": "1"},
                 {"name": pupils[0].name, "id_number": pupils[0].id_number, "code": "ABC"},
                 {"name": pupils[0].name, "id_number": pupils[0].id_number, "phone": "13800000000"},
                 {"name": ["王"], "id_number": pupils[0].id_number}):
        refused(await api.post(me, headers=parent.headers, json=body), 422, "VALIDATION_FAILED")
    refused(await link_child(api, parent, pupils[0], id_number="43018220180101001X"), 422, "CITIZEN_ID_INVALID")
    refused(await api.delete(f"{me}/{student_id}", headers=parent.headers), 404, "RESOURCE_NOT_FOUND")
    refused(await api.get(f"{me}/{'x' * 300}/bills", headers=parent.headers), 404, "RESOURCE_NOT_FOUND")
    refused(await api.get("/api/v1/me/bills/%E4%B8%AD", headers=parent.headers), 404, "RESOURCE_NOT_FOUND")
    refused(await api.post(me, json={"name": "王", "id_number": pupils[0].id_number}), 401, "UNAUTHORIZED")
