"""Helpers for school-fee tests: a school with a roster, a fee item through the two-department review, its
bills, and a parent linked over HTTP; an API server whose notify URLs point at itself (so the payment
simulators' callbacks reach it).

The staff steps run through the real services (the same code the staff endpoints call) as the staff actors
the scope check sees; the roster import and the bill generation run in-process instead of through Celery (the
same runner and generator the worker runs), so a test needs no worker. Everything is stored in the session's
real MongoDB and S3.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from io import BytesIO
from typing import Any

import httpx
from openpyxl import load_workbook
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from accounts.citizen_id import make_citizen_id
from accounts.scopes import Actor
from affairs.demo_kit import DEPT
from affairs.departments import make_uscc
from config.pii import pii_from_settings
from config.settings import Settings
from config.wiring import Dependencies
from devstack.fee_setup import not_queued, publish_with_bills
from mobile_api.app import make_app
from payments.fee_item_model import FeeItemIn
from payments.roster_service import RosterImports
from payments.roster_sheet import SHEET, build_template
from payments.school_fees import roster_runner
from payments.schools import SchoolIn
from tests.support.identity import LoggedIn, miniprogram_login
from tests.support.sms import random_phone
from tests.support.wechat import SimControl

REGION = "430182"  # 宁乡市
EDU_ADMIN = Actor(roles=frozenset({"dept_admin"}), staff_id="t-edu-admin", department_id=DEPT["nx_edu"],
                  region_code=REGION)
EDU_REVIEWER = Actor(roles=frozenset({"staff"}), staff_id="t-edu-staff", department_id=DEPT["nx_edu"],
                     region_code=REGION)
PRICE_REVIEWER = Actor(roles=frozenset({"staff"}), staff_id="t-price-staff", department_id=DEPT["nx_ndrc"],
                       region_code=REGION)


@dataclass
class Child:
    id: str
    name: str
    id_number: str


@dataclass
class FeeSchool:
    school_id: str
    finance: Actor
    children: list[Child]
    bills: dict[str, str]  # student id → bill id of the fee item
    item_id: str
    amount_fen: int


def roster_xlsx(children: list[tuple[str, str, str]]) -> bytes:
    """The school's own template filled in: (student number, name, ID number), one class of 三年级."""
    book = load_workbook(BytesIO(build_template()))
    sheet = book[SHEET]
    for number, name, id_number in children:
        sheet.append([number, name, "三年级", "1班", id_number, random_phone().removeprefix("+86"), None])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def pupil_id_number() -> str:
    """A child's number unlikely to repeat across the session (linking looks children up by number)."""
    born = date(2014, 1, 1) + timedelta(days=secrets.randbelow(5 * 365))
    return make_citizen_id(REGION, born, secrets.randbelow(1000))


async def school_with_bills(deps: Dependencies, *, children: int = 1, amount_fen: int = 120_000) -> FeeSchool:
    """A fresh school (random code) in 宁乡市 with `children` pupils, one published fee item and its bills."""
    fees, settings = deps.school_fees, deps.settings
    code = make_uscc(REGION, f"{secrets.randbelow(10**8):08d}", org_type="2")
    await fees.schools.create(EDU_ADMIN, SchoolIn(code=code, name=f"宁乡市测试小学{code[-4:]}", region_code=REGION,
                                                  price_department_code=DEPT["nx_ndrc"]))
    finance = Actor(roles=frozenset({"school_finance"}), staff_id=f"t-fin-{code[-6:]}", department_id=code,
                    region_code=REGION)
    pupils = [(f"S{i:03d}", "陈" + "思远晓雨子涵浩然"[i % 8] + "一二三四五六七八九十"[i // 8 % 10], pupil_id_number())
              for i in range(children)]
    cipher, index = pii_from_settings(settings)
    imports = RosterImports(fees.roster.jobs, fees.schools, deps.objects, settings.s3_bucket_documents, not_queued)
    job, _ = await imports.submit(finance, code, roster_xlsx(pupils))
    runner = roster_runner(deps.mongo, deps.db, objects=deps.objects, bucket=settings.s3_bucket_documents,
                           cipher=cipher, index=index)
    assert await runner.run(job["_id"]) == "done", await fees.roster.jobs.get(job["_id"])
    item = await publish_with_bills(deps, finance, code, FeeItemIn(
        name="2026年秋季学期学生作业本费", amount_fen=amount_fen, term="2026-autumn", grades=["三年级"],
        basis="宁发改价〔2026〕12号 关于中小学服务性收费标准的通知"), reviewers=(EDU_REVIEWER, PRICE_REVIEWER))
    kids, bills = [], {}
    for number, name, id_number in pupils:
        student = (await fees.students.by_numbers(code, [number]))[number]
        kids.append(Child(student["_id"], name, id_number))
        (bill,) = await fees.bills.bills.of_student(student["_id"])
        bills[student["_id"]] = bill["_id"]
    return FeeSchool(code, finance, kids, bills, item["_id"], amount_fen)


async def import_roster(deps: Dependencies, school: FeeSchool, rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    """School finance imports a roster of (student number, name, ID number) rows, run in-process; the job."""
    settings = deps.settings
    cipher, index = pii_from_settings(settings)
    imports = RosterImports(deps.school_fees.roster.jobs, deps.school_fees.schools, deps.objects,
                            settings.s3_bucket_documents, not_queued)
    job, _ = await imports.submit(school.finance, school.school_id, roster_xlsx(rows))
    runner = roster_runner(deps.mongo, deps.db, objects=deps.objects, bucket=settings.s3_bucket_documents,
                           cipher=cipher, index=index)
    await runner.run(job["_id"])
    done = await deps.school_fees.roster.jobs.get(job["_id"])
    assert done is not None
    return done


async def linked_parent(api: httpx.AsyncClient, wechat: SimControl, deps: Dependencies, school: FeeSchool,
                        child: Child) -> LoggedIn:
    """A parent logs in with the mini-program and links the child over HTTP with a school-issued link code."""
    parent = await miniprogram_login(api, wechat)
    code, _ = await deps.school_fees.link_codes.issue(school.finance, school.school_id, child.id)
    linked = await api.post("/api/v1/me/children", headers=parent.headers,
                            json={"name": child.name, "id_number": child.id_number, "code": code})
    assert linked.status_code == 201, linked.text
    return parent


@asynccontextmanager
async def api_with_notify_urls(settings: Settings) -> AsyncIterator[tuple[Dependencies, str]]:
    """The real app on a free port, its WeChat Pay / Alipay notify URLs pointing at itself."""
    sockets = bind_sockets(0, "127.0.0.1")
    base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    own = settings.model_copy(update={"wechatpay_notify_url": f"{base}/api/v1/payments/wechatpay/notify",
                                      "alipay_notify_url": f"{base}/api/v1/payments/alipay/notify"})
    deps = Dependencies.from_settings(own)
    await deps.prepare()
    server = HTTPServer(make_app(deps))
    server.add_sockets(sockets)
    try:
        yield deps, base
    finally:
        server.stop()
        await server.close_all_connections()
        await deps.close()
