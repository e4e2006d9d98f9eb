"""Notifications end to end over HTTP, with the real outbox relay and Celery worker processes: a case accepted
by staff reaches the applicant's phone once (WeChat with a grant, one SMS without), a fee item published to a
class reaches every linked parent once, and an overdue alert reaches the task's holder and the supervisors.

What the phone shows is read from the simulators' inboxes; "once" is checked after every message of the event
has settled, so a late duplicate would have been recorded (the dedup key makes it impossible, not unlikely)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from accounts.citizen_id import make_citizen_id
from affairs.demo_kit import DEPT
from affairs.departments import make_uscc
from config.wiring import Dependencies
from notifications.messages import MessageRepository
from tests.e2e.test_case_time_limits import clock  # noqa: F401  (the frozen case clock fixture)
from tests.e2e.test_sms_login import request_code
from tests.support.cases import (
    ESTATE,
    Resident,
    act,
    bound_resident,
    department_staff,
    estate_form,
    estate_materials,
    open_task,
)
from tests.support.identity import LoggedIn, miniprogram_login
from tests.support.notify import PipelineProcess, eventually, settled_messages
from tests.support.population import PopulationSim
from tests.support.sheets import append_row
from tests.support.sms import SmsSim, random_phone
from tests.support.staff import StaffSession, make_staff, staff_login
from tests.support.wechat import SimControl

pytestmark = pytest.mark.slow
SHANGHAI = timezone(timedelta(hours=8))
NINGXIANG = "430182"


@pytest.fixture
def pipeline(outbox_relay: PipelineProcess, sms: SmsSim) -> PipelineProcess:
    """The relay process feeding the session's worker process (started once for the session)."""
    return outbox_relay


async def event_of(deps: Dependencies, kind: str, subject_id: str, topic: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = [e for e in await deps.cases.apply.history.outbox.for_subject(kind, subject_id) if e["topic"] == topic]
        return found[0] if found else None

    return await eventually(probe, what=f"a {topic} event of {kind} {subject_id}")


async def mp_openid(deps: Dependencies, person_id: str) -> str:
    person = await deps.db["people"].find_one({"_id": person_id})
    assert person is not None
    return str(person["wechat"]["mp_openid"])


async def accepted_case(api: httpx.AsyncClient, deps: Dependencies, me: Resident, estate: StaffSession
                        ) -> dict[str, Any]:
    """Apply for the demo 不动产转移登记 and have the estate centre accept it (prereview claim + accept)."""
    draft = (await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=me.headers)).json()
    submitted = await api.post(f"/api/v1/cases/{draft['id']}/submit", headers=me.headers, json={
        "form": estate_form(me.id_number), "materials": await estate_materials(api, me, deps)})
    assert submitted.status_code == 200, submitted.text
    task = await open_task(api, estate, draft["id"], "prereview")
    await act(api, estate, f"/api/v1/staff/tasks/{task['id']}/claim")
    return await act(api, estate, f"/api/v1/staff/tasks/{task['id']}/accept", {"opinion": "材料齐全，予以受理"})


def promised(case: dict[str, Any]) -> str:
    day = datetime.fromisoformat(case["clock"]["due_date"])
    return f"{day.year}年{day.month}月{day.day}日"


# -- (a) a case accepted → the applicant ---------------------------------------------------------------------------
async def test_a_case_accepted_reaches_the_applicant_once_by_wechat(
        api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim, sms: SmsSim, deps: Dependencies,
        demo_catalogue: object, pipeline: PipelineProcess) -> None:
    me = await bound_resident(api, wechat, population)
    openid = await mp_openid(deps, me.person_id)
    await wechat.grant("mp-case-progress", openid=openid)  # "allow" in wx.requestSubscribeMessage
    reported = await api.post("/api/v1/me/subscription-grants", json={"results": {"mp-case-progress": "accept"}},
                              headers=me.headers)
    assert reported.status_code == 200, reported.text
    estate = await department_staff(deps, api, sms, "nx_estate")

    case = await accepted_case(api, deps, me, estate)
    event = await event_of(deps, "case", case["id"], "case.accepted")
    [message] = await settled_messages(deps.db, event["_id"], states={"delivered"})
    assert (message["channel"], message["template"]) == ("wechat_subscribe", "case.accepted@2")

    [received] = await wechat.messages(openid=openid)  # nothing else of this case reached the phone
    assert received["template_id"] == "mp-case-progress"
    assert received["data"]["character_string2"] == case["receipt_no"]
    assert received["data"]["phrase3"] == "已受理"
    assert received["data"]["thing5"] == f"承诺{promised(case)}前办结"
    assert received["page"] == f"pages/cases/detail?id={case['id']}"
    inbox = (await api.get("/api/v1/me/notifications", headers=me.headers)).json()["items"]
    [item] = [i for i in inbox if i["title"] == "办件已受理"]
    assert case["receipt_no"] in item["body"] and promised(case) in item["body"]


async def test_without_a_grant_the_applicant_gets_exactly_one_sms(
        api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim, sms: SmsSim, deps: Dependencies,
        demo_catalogue: object, pipeline: PipelineProcess) -> None:
    me = await bound_resident(api, wechat, population)
    phone = random_phone()
    code = await request_code(api, sms, phone, path="/api/v1/me/phone/code", headers=me.headers)
    verified = await api.put("/api/v1/me/phone", json={"phone": phone, "code": code}, headers=me.headers)
    assert verified.status_code == 200, verified.text
    estate = await department_staff(deps, api, sms, "nx_estate")

    case = await accepted_case(api, deps, me, estate)
    event = await event_of(deps, "case", case["id"], "case.accepted")
    docs = {d["channel"]: d for d in await settled_messages(deps.db, event["_id"], count=2)}
    assert (docs["wechat_subscribe"]["state"], docs["wechat_subscribe"]["reason"]) == ("permanent-failure",
                                                                                      "NO_GRANT")
    assert docs["sms"]["fallback_of"] == docs["wechat_subscribe"]["_id"]

    texts = [m["text"] for m in await sms.messages(phone) if "code" not in m["params"]]
    assert texts == [f"【掌上办】您申请的{case['matter']['name']}已受理，办件编号{case['receipt_no']}，"
                     f"承诺{promised(case)}前办结。"]
    assert await wechat.messages(openid=await mp_openid(deps, me.person_id)) == []


# -- (b) a bill published to a class → every linked parent -----------------------------------------------------------
async def school_with_roster(api: httpx.AsyncClient, deps: Dependencies, sms: SmsSim, students: list[dict[str, str]]
                             ) -> tuple[str, StaffSession, StaffSession, StaffSession]:
    """A school registered by the education bureau's admin, its roster imported by its finance staff (a Celery
    job); (school code, finance, education reviewer, price reviewer)."""
    edu_user = await make_staff(deps, roles=("dept_admin", "staff"), department_id=DEPT["nx_edu"],
                                department_name="宁乡市教育局", region_code=NINGXIANG)
    edu = await staff_login(api, sms, edu_user)
    code = make_uscc(NINGXIANG, f"{secrets.randbelow(10**8):08d}", org_type="2")
    school = await api.post("/api/v1/admin/schools", headers=edu.headers, json={
        "code": code, "name": "宁乡市玉潭街道第一小学", "region_code": NINGXIANG,
        "price_department_code": DEPT["nx_ndrc"]})
    assert school.status_code == 201, school.text
    finance = await staff_login(api, sms, await make_staff(
        deps, roles=("school_finance",), department_id=code, department_name="宁乡市玉潭街道第一小学",
        region_code=NINGXIANG))
    price = await department_staff(deps, api, sms, "nx_ndrc", region_code=NINGXIANG)

    sheet = (await api.get(f"/api/v1/schools/{code}/roster/template", headers=finance.headers)).content
    for student in students:
        sheet, _ = append_row(sheet, "花名册", {"学号": student["no"], "姓名": student["name"], "年级": "一年级",
                                              "班级": "1班", "学生身份证号": student["id_number"]})
    job = await api.post(f"/api/v1/schools/{code}/roster/imports", content=sheet, headers=finance.headers | {
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert job.status_code == 202, job.text

    async def imported() -> dict[str, Any] | None:
        body = (await api.get(job.headers["Location"], headers=finance.headers)).json()
        assert body["state"] != "failed", body
        return body if body["state"] == "done" else None

    await eventually(imported, what="the roster import job")
    return code, finance, edu, price


async def linked_parent(api: httpx.AsyncClient, wechat: SimControl, finance: StaffSession, school: str,
                        student: dict[str, str]) -> tuple[LoggedIn, str]:
    """A parent in the mini-program who allowed the bill template once and linked the child with a link code."""
    unionid = "u" + secrets.token_hex(8)
    parent = await miniprogram_login(api, wechat, unionid=unionid)
    await wechat.grant("mp-bill-published", unionid=unionid)
    granted = await api.post("/api/v1/me/subscription-grants", headers=parent.headers,
                             json={"results": {"mp-bill-published": "accept"}})
    assert granted.status_code == 200, granted.text
    issued = await api.post(f"/api/v1/schools/{school}/students/{student['id']}/link-codes", headers=finance.headers)
    assert issued.status_code == 201, issued.text
    linked = await api.post("/api/v1/me/children", headers=parent.headers, json={
        "name": student["name"], "id_number": student["id_number"], "code": issued.json()["code"]})
    assert linked.status_code == 201, linked.text
    return parent, unionid


async def test_a_bill_published_to_a_class_reaches_every_linked_parent_once(
        api: httpx.AsyncClient, wechat: SimControl, sms: SmsSim, deps: Dependencies, demo_catalogue: object,
        pipeline: PipelineProcess) -> None:
    students = [{"no": f"S{secrets.token_hex(3)}{i}", "name": name,
                 "id_number": make_citizen_id("430182", f"2019050{i + 1}", 100 + secrets.randbelow(800))}
                for i, name in enumerate(("陈子轩", "刘雨桐", "张浩然"))]
    school, finance, edu, price = await school_with_roster(api, deps, sms, students)
    roster = {s["student_no"]: s for s in await deps.school_fees.students.of_class(
        school, (await deps.school_fees.classes.of_school(school))[0]["_id"], after=None, limit=10)}
    for student in students:
        student["id"] = roster[student["no"]]["_id"]
    # two parents for the first child, one for the second, none for the third
    parents = [(students[0], *await linked_parent(api, wechat, finance, school, students[0])),
               (students[0], *await linked_parent(api, wechat, finance, school, students[0])),
               (students[1], *await linked_parent(api, wechat, finance, school, students[1]))]

    item = await act(api, finance, f"/api/v1/schools/{school}/fee-items", {
        "name": "2026年秋季学期作业本费", "amount_fen": 12000, "term": "2026-autumn", "grades": ["一年级"],
        "basis": "宁发改价费〔2026〕12号《关于规范中小学服务性收费的通知》"}, status=201)
    item = await act(api, finance, f"/api/v1/fee-items/{item['id']}/submit", {"revision": item["revision"]})
    item = await act(api, edu, f"/api/v1/fee-items/{item['id']}/approve", {"revision": item["revision"]})
    item = await act(api, price, f"/api/v1/fee-items/{item['id']}/approve", {"revision": item["revision"]})
    assert item["state"] == "approved", item
    await act(api, finance, f"/api/v1/fee-items/{item['id']}/publish", {"revision": item["revision"]})

    async def billed() -> dict[str, Any] | None:
        body = (await api.get(f"/api/v1/fee-items/{item['id']}", headers=finance.headers)).json()
        return body if body["bills"]["state"] == "done" else None

    await eventually(billed, what="the bills of the published fee item")
    bills = [b async for b in deps.db["bills"].find({"fee_item_id": item["id"]})]
    assert len(bills) == 3
    events = {}
    for bill in bills:
        found = [e for e in await deps.cases.apply.history.outbox.for_subject("bill", bill["_id"])
                 if e["topic"] == "bill.published"]
        events[bill["student_id"]] = found
    assert events[students[2]["id"]] == []  # nobody to tell
    messages = []
    for student_id in (students[0]["id"], students[1]["id"]):
        [event] = events[student_id]
        messages += await settled_messages(deps.db, event["_id"], count=len(event["recipients"]),
                                           states={"delivered"})
    assert sorted(m["recipient"]["id"] for m in messages) == sorted(p.person_id for _, p, _ in parents)
    for student, _, unionid in parents:
        [received] = await wechat.messages(unionid=unionid)
        assert received["template_id"] == "mp-bill-published"
        assert received["data"] == {"thing1": "2026年秋季学期作业本费", "name2": student["name"],
                                    "amount3": "¥120.00", "thing4": "宁乡市玉潭街道第一小学"}


# -- (c) an overdue task → its holder and the supervisors ---------------------------------------------------------
async def test_an_overdue_alert_reaches_the_holder_and_the_supervisor(
        api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim, sms: SmsSim, deps: Dependencies,
        demo_catalogue: object, clock: list[datetime], pipeline: PipelineProcess) -> None:  # noqa: F811
    me = await bound_resident(api, wechat, population)
    holder_user = await make_staff(deps, department_id=DEPT["nx_estate"], department_name="nx_estate",
                                   region_code=NINGXIANG)
    holder = await staff_login(api, sms, holder_user)
    supervisor_user = await make_staff(deps, roles=("supervisor",), department_id=DEPT["nx_ndrc"],
                                       department_name="nx_ndrc", region_code=NINGXIANG)
    draft = (await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=me.headers)).json()
    submitted = await api.post(f"/api/v1/cases/{draft['id']}/submit", headers=me.headers, json={
        "form": estate_form(me.id_number), "materials": await estate_materials(api, me, deps)})
    assert submitted.status_code == 200, submitted.text
    task = await open_task(api, holder, draft["id"], "prereview")
    await act(api, holder, f"/api/v1/staff/tasks/{task['id']}/claim")

    clock[0] = datetime(2025, 10, 15, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)  # due at 24:00 on Oct 14
    assert (await deps.cases.supervision.sweep(deps.cases.now())).overdue >= 1
    alert = await event_of(deps, "case", draft["id"], "task.overdue")
    messages = MessageRepository(deps.db)

    async def ours_settled() -> list[dict[str, Any]] | None:
        docs = {d["recipient"]["id"]: d for d in await messages.for_event(alert["_id"])}
        wanted = [docs.get(holder_user.id), docs.get(supervisor_user.id)]
        return wanted if all(d and d["state"] in ("sent", "delivered") for d in wanted) else None  # type: ignore

    for doc in await eventually(ours_settled, what="the overdue alert to the holder and the supervisor"):
        assert (doc["channel"], doc["urgent"], doc["queue"]) == ("sms", True, "urgent")
    expected = (f"【掌上办】办件{draft['id']}（{draft['matter']['name']}）已超过办结时限2025年10月14日，"
                "请立即处理。")
    for phone in (holder_user.phone_e164, supervisor_user.phone_e164):
        alerts = [m["text"] for m in await sms.messages(phone) if "已超过办结时限" in m["text"]]
        assert alerts == [expected]
    staff_inbox = (await api.get("/api/v1/staff/notifications", headers=holder.headers)).json()["items"]
    assert [i["title"] for i in staff_inbox].count("办件已超期") == 1
