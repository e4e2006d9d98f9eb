"""Helpers for school-fee tests: drive the real HTTP API the way its users do.

- an education department's admin registers a school (naming its price department): `register_school`;
- the school's finance staff import a roster xlsx (the template endpoint filled in with openpyxl) and wait for
  the Celery job: `roster_xlsx`, `import_roster`;
- they draft a fee item, both departments approve it, the school publishes it and the worker makes the bills:
  `create_fee_item`, `approve_both`, `publish_and_bill`;
- parents (tests/support/school_parents.py) link a child by their verified phone on the roster or by a
  school-issued link code, and `parent_with_unpaid_bill` does all of it. Every step needs the session's Celery worker (roster import, bills, SMS
codes): the `sms` fixture starts it. Staff are made and signed in with tests/support/staff.py and cases.py,
residents with tests/support/identity.py.

tests/support/school_fees.py (`school_with_bills`, `linked_parent`) is the fast path to the same state: the
staff steps through the services as code-built actors, the roster job and the generator run in-process, no
worker and no SMS. Use it where the school side is only a precondition (many payment tests); use these helpers
where the test is about what users do over HTTP.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
from openpyxl import load_workbook

from accounts.citizen_id import make_citizen_id
from affairs.demo_kit import DEPT, YUTAN
from affairs.departments import make_uscc
from config.wiring import Dependencies
from payments.roster_rows import COLUMNS
from payments.roster_sheet import SHEET, XLSX_MEDIA_TYPE
from tests.support.cases import department_staff
from tests.support.sms import SmsSim, random_phone
from tests.support.staff import StaffSession, make_staff, staff_login

HEADERS = dict(COLUMNS)  # column key → header of the roster sheet
FINAL_JOB_STATES = ("done", "failed")
_SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗"
_GIVEN = "子涵梓萱浩宇欣怡一诺雨桐思远佳怡俊杰雅琪宇轩可馨"


# -- staff -----------------------------------------------------------------------------------------------------
@dataclass
class Officials:
    """The two departments overseeing Ningxiang's schools, signed in: the education department's admin (who
    registers schools and, holding `staff` too, reviews the education side) and a price department reviewer."""

    education: StaffSession
    price: StaffSession


async def sign_in_officials(deps: Dependencies, api: httpx.AsyncClient, sms: SmsSim) -> Officials:
    education = await department_staff(deps, api, sms, "nx_edu", roles=("dept_admin", "staff"))
    price = await department_staff(deps, api, sms, "nx_ndrc")
    return Officials(education, price)


@dataclass
class School:
    code: str
    name: str
    region_code: str
    officials: Officials
    finance: StaffSession  # school_finance staff of the school (department_id = the school's code)

    @property
    def headers(self) -> dict[str, str]:
        return self.finance.headers


def new_school_code(region_code: str = YUTAN) -> str:
    """A fresh valid 统一社会信用代码 of a public institution (事业单位) of the region."""
    return make_uscc(region_code[:6], f"{secrets.randbelow(10**8):08d}", org_type="2")


async def register_school(deps: Dependencies, api: httpx.AsyncClient, sms: SmsSim, officials: Officials | None = None,
                          *, region_code: str = YUTAN) -> School:
    """The education admin registers a school over HTTP; a school_finance account of it is made and signed in."""
    officials = officials or await sign_in_officials(deps, api, sms)
    code, name = new_school_code(region_code), f"宁乡市玉潭街道第{secrets.randbelow(900) + 100}测试小学"
    created = await api.post("/api/v1/admin/schools", headers=officials.education.headers, json={
        "code": code, "name": name, "region_code": region_code, "price_department_code": DEPT["nx_ndrc"]})
    assert created.status_code == 201, created.text
    user = await make_staff(deps, roles=("school_finance",), department_id=code, department_name=name,
                            region_code=region_code, level="town")
    return School(code, name, region_code, officials, await staff_login(api, sms, user))


# -- the roster ------------------------------------------------------------------------------------------------
@dataclass
class Pupil:
    """One roster row as the school types it (phones as 11 digits, the way a school writes them)."""

    student_no: str
    name: str
    grade: str
    class_name: str
    id_number: str
    phones: tuple[str, ...] = ()

    def cells(self) -> dict[str, str]:
        """{header: text} of this pupil's row."""
        values = {"student_no": self.student_no, "name": self.name, "grade": self.grade,
                  "class_name": self.class_name, "id_number": self.id_number}
        values.update({f"phone{i}": phone for i, phone in enumerate(self.phones, start=1)})
        return {HEADERS[key]: value for key, value in values.items()}


def child_id_number() -> str:
    """A fresh valid ID number of a school-age child (tests never collide)."""
    born = date(2018, 1, 1) + timedelta(days=secrets.randbelow(6 * 365))  # 宁乡市 (430182) since 2017
    return make_citizen_id("430182", born, secrets.randbelow(1000))


def national(phone_e164: str) -> str:
    return phone_e164.removeprefix("+86")


def new_pupils(count: int, *, grade: str = "一年级", class_name: str = "1班", prefix: str | None = None,
               phones: list[str] | None = None) -> list[Pupil]:
    """`count` fresh pupils of one class; pupil i gets `phones[i]` (e164) as guardian phone 1 when given,
    otherwise a random phone nobody holds."""
    prefix = prefix or f"S{secrets.token_hex(2).upper()}"
    pupils = []
    for i in range(count):
        name = secrets.choice(_SURNAMES) + "".join(secrets.choice(_GIVEN) for _ in range(2))
        phone = phones[i] if phones and i < len(phones) else random_phone()
        pupils.append(Pupil(f"{prefix}-{i + 1:03d}", name, grade, class_name, child_id_number(),
                            (national(phone),)))
    return pupils


async def roster_template(api: httpx.AsyncClient, school: School) -> bytes:
    response = await api.get(f"/api/v1/schools/{school.code}/roster/template", headers=school.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    return response.content


def roster_xlsx(template: bytes, rows: list[Pupil | dict[str, Any]]) -> bytes:
    """The template filled in as a person does in Excel: one row per pupil ({header: value} for a raw row),
    every value typed as text."""
    book = load_workbook(io.BytesIO(template))
    ws = book[SHEET]
    positions = {cell.value: cell.column for cell in ws[1]}
    for number, row in enumerate(rows, start=2):
        cells = row.cells() if isinstance(row, Pupil) else row
        for header, value in cells.items():
            cell = ws.cell(row=number, column=positions[header])
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload_roster(api: httpx.AsyncClient, school: School, data: bytes) -> httpx.Response:
    return await api.post(f"/api/v1/schools/{school.code}/roster/imports", content=data,
                          headers=school.headers | {"Content-Type": XLSX_MEDIA_TYPE})


async def wait_for_job(api: httpx.AsyncClient, school: School, job_id: str, *, within_s: float = 60) -> dict[str, Any]:
    """Poll the job until it is done or failed (the Celery worker runs it)."""
    deadline = time.monotonic() + within_s
    while True:
        response = await api.get(f"/api/v1/schools/{school.code}/roster/imports/{job_id}", headers=school.headers)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["state"] in FINAL_JOB_STATES:
            return job
        assert time.monotonic() < deadline, f"roster import still {job['state']} after {within_s}s: {job}"
        await asyncio.sleep(0.1)


async def import_roster(api: httpx.AsyncClient, school: School, data: bytes) -> dict[str, Any]:
    """Upload the workbook and wait for its job; the final job (done or failed, with its report)."""
    uploaded = await upload_roster(api, school, data)
    assert uploaded.status_code in (200, 202), uploaded.text
    return await wait_for_job(api, school, uploaded.json()["job_id"])


async def classes(api: httpx.AsyncClient, school: School) -> dict[tuple[str, str], dict[str, Any]]:
    """The school's classes by (grade, name)."""
    response = await api.get(f"/api/v1/schools/{school.code}/classes", headers=school.headers)
    assert response.status_code == 200, response.text
    return {(c["grade"], c["name"]): c for c in response.json()["items"]}


async def students(api: httpx.AsyncClient, school: School) -> dict[str, dict[str, Any]]:
    """Every student of the school by student number (each class's list, every page)."""
    found: dict[str, dict[str, Any]] = {}
    for klass in (await classes(api, school)).values():
        after: str | None = None
        while True:
            params = {"after": after} if after else {}
            response = await api.get(f"/api/v1/schools/{school.code}/classes/{klass['id']}/students",
                                     params=params, headers=school.headers)
            assert response.status_code == 200, response.text
            page = response.json()
            found.update({s["student_no"]: s for s in page["items"]})
            after = page["next_cursor"]
            if after is None:
                break
    return found


async def enrolled(api: httpx.AsyncClient, school: School, pupils: list[Pupil]) -> dict[str, dict[str, Any]]:
    """Import a good roster of these pupils (via the template) and return the students by student number."""
    job = await import_roster(api, school, roster_xlsx(await roster_template(api, school), list(pupils)))
    assert job["state"] == "done", job
    return await students(api, school)


# -- fee items and bills ---------------------------------------------------------------------------------------
def fee_item_body(**changes: Any) -> dict[str, Any]:
    return {"name": f"2026年秋季学期作业本费{secrets.token_hex(2)}", "amount_fen": 12000, "term": "2026-autumn",
            "grades": ["一年级"], "class_ids": [], "basis": "宁发改价费〔2026〕12号《关于规范中小学服务性收费的通知》",
            "description": "按学期收取", **changes}


async def create_fee_item(api: httpx.AsyncClient, school: School, **changes: Any) -> dict[str, Any]:
    response = await api.post(f"/api/v1/schools/{school.code}/fee-items", json=fee_item_body(**changes),
                              headers=school.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def step(api: httpx.AsyncClient, who: StaffSession | School, item: dict[str, Any], action: str,
               status: int = 200, **body: Any) -> httpx.Response:
    """POST /fee-items/{id}/{action} with the item's revision (as read), asserting the status."""
    response = await api.post(f"/api/v1/fee-items/{item['id']}/{action}", headers=who.headers,
                              json={"revision": item["revision"], **body})
    assert response.status_code == status, response.text
    return response


async def approve_both(api: httpx.AsyncClient, school: School, item: dict[str, Any]) -> dict[str, Any]:
    """Submit (when a draft), then the education and the price departments approve: the approved item."""
    if item["state"] == "draft":
        item = (await step(api, school, item, "submit")).json()
    item = (await step(api, school.officials.education, item, "approve")).json()
    item = (await step(api, school.officials.price, item, "approve")).json()
    assert item["state"] == "approved", item
    return item


async def fee_item(api: httpx.AsyncClient, who: StaffSession | School, item_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/fee-items/{item_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for_bills(api: httpx.AsyncClient, school: School, item_id: str, *, generated: int | None = None,
                         within_s: float = 60) -> dict[str, Any]:
    """Poll the item until its bill generation is over (done or stopped), with `generated` bills when given
    (a roster import's catch-up runs after its job reports done)."""
    deadline = time.monotonic() + within_s
    while True:
        item = await fee_item(api, school, item_id)
        bills = item["bills"]
        if bills["state"] in ("done", "stopped") and generated in (None, bills["generated"]):
            return item
        assert time.monotonic() < deadline, f"bills still {bills} after {within_s}s"
        await asyncio.sleep(0.1)


async def publish_and_bill(api: httpx.AsyncClient, school: School, item: dict[str, Any]) -> dict[str, Any]:
    """Publish the approved item and wait for the worker to make its bills; the item afterwards."""
    published = (await step(api, school, item, "publish")).json()
    assert published["state"] == "published", published
    return await wait_for_bills(api, school, item["id"])


async def published_item(api: httpx.AsyncClient, school: School, **changes: Any) -> dict[str, Any]:
    """A fee item created, approved by both departments, published, its bills made."""
    return await publish_and_bill(api, school, await approve_both(api, school, await create_fee_item(
        api, school, **changes)))


async def export_rows(api: httpx.AsyncClient, school: School, class_id: str,
                      item_id: str | None = None) -> list[dict[str, Any]]:
    """The class's bills export (xlsx) opened with openpyxl: one {header: value} per row."""
    response = await api.get(f"/api/v1/schools/{school.code}/classes/{class_id}/bills/export", headers=school.headers,
                             params={"fee_item_id": item_id} if item_id else {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    ws = load_workbook(io.BytesIO(response.content), read_only=True).active
    lines = list(ws.iter_rows(values_only=True))
    return [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
