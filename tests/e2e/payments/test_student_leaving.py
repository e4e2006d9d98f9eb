"""A student leaves the school (转学), over HTTP: their unpaid bills are cancelled and the guardian told
(`bill.cancelled`, the same producer as a withdrawn fee item), the paid bill and its receipt stay the guardian's
to read, no bill is made for them afterwards, and a roster that still lists them leaves them left and says so in
its report. Asked again: nothing changes twice; asked otherwise: 409."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from config.wiring import Dependencies
from devstack.fee_setup import publish_with_bills
from payments.fee_item_model import FeeItemIn
from tests.support.notify import eventually
from tests.support.payments import PaySim
from tests.support.school_fees import EDU_REVIEWER, PRICE_REVIEWER, FeeSchool, import_roster, linked_parent
from tests.support.school_refunds import finance_staff, paid_order
from tests.support.wechat import SimControl


def fee_item(name: str) -> FeeItemIn:
    return FeeItemIn(name=name, amount_fen=8_000, term="2026-autumn", grades=["三年级"],
                     basis="宁发改价〔2026〕12号 关于中小学服务性收费标准的通知")


async def bill_of(deps: Dependencies, item_id: str, student_id: str) -> dict | None:
    return await deps.db["bills"].find_one({"fee_item_id": item_id, "student_id": student_id})


async def test_a_student_who_left_keeps_what_was_paid_owes_nothing_more_and_is_not_brought_back_by_a_roster(
        api: httpx.AsyncClient, pdeps: Dependencies, wechat: SimControl, wxpay: PaySim, school: FeeSchool) -> None:
    leaver, classmate = school.children
    parent = await linked_parent(api, wechat, pdeps, school, leaver)
    paid_bill = school.bills[leaver.id]
    await paid_order(api, parent, paid_bill, wxpay)
    await eventually(lambda: pdeps.db["receipts"].find_one({"bill_id": paid_bill}), within_s=10, what="the receipt")
    books = await publish_with_bills(pdeps, school.finance, school.school_id, fee_item("2026年秋季学期校服费"),
                                     reviewers=(EDU_REVIEWER, PRICE_REVIEWER))
    owed = await bill_of(pdeps, books["_id"], leaver.id)
    assert owed is not None and owed["state"] == "unpaid"
    finance = await finance_staff(pdeps, school.school_id)
    url = f"/api/v1/schools/{school.school_id}/students/{leaver.id}/leaving"
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    body = {"left_on": today.isoformat(), "kind": "transfer", "reason": "随父母工作调动转学至长沙市"}

    future = await api.post(url, headers=finance.headers, json=body | {"left_on": (today + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "left_on"
    theirs = await finance_staff(pdeps, "12430182MB" + school.school_id[10:])
    forbidden = await api.post(url, headers=theirs.headers, json=body)
    assert forbidden.status_code == 403 and forbidden.json()["errcode"] == "FORBIDDEN"
    nobody = await api.post(f"/api/v1/schools/{school.school_id}/students/01NOSUCHSTUDENT0000000000/leaving",
                            headers=finance.headers, json=body)
    assert nobody.status_code == 404 and nobody.json()["errcode"] == "STUDENT_NOT_FOUND"

    left = await api.post(url, headers=finance.headers, json=body)
    assert left.status_code == 201, left.text
    assert {k: left.json()["left"][k] for k in ("left_on", "kind", "kind_label", "bills_cancelled")} == {
        "left_on": today.isoformat(), "kind": "transfer", "kind_label": "转学", "bills_cancelled": [owed["_id"]]}
    cancelled = await pdeps.db["bills"].find_one({"_id": owed["_id"]})
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled", f"学生已于 {today.isoformat()} 转学离校")
    events = await pdeps.db["outbox"].find({"topic": "bill.cancelled", "data.bill_id": owed["_id"]}).to_list(None)
    assert [e["recipients"] for e in events] == [[{"kind": "person", "id": parent.person_id}]]
    assert events[0]["data"]["reason"] == cancelled["cancel_reason"]
    assert (await bill_of(pdeps, books["_id"], classmate.id))["state"] == "unpaid"  # the classmate still owes

    same = await api.post(url, headers=finance.headers, json=body)  # a retried request: nothing twice
    assert same.status_code == 200 and same.json()["left"] == left.json()["left"]
    assert await pdeps.db["outbox"].count_documents({"topic": "bill.cancelled", "data.bill_id": owed["_id"]}) == 1
    other = await api.post(url, headers=finance.headers, json=body | {"kind": "withdrawal"})
    assert other.status_code == 409 and other.json()["errcode"] == "STUDENT_ALREADY_LEFT"

    # The guardian still sees the child, the paid bill and its receipt; the cancelled one says why.
    (child,) = (await api.get("/api/v1/me/children", headers=parent.headers)).json()["items"]
    assert (child["student_id"], child["left_on"]) == (leaver.id, today.isoformat())
    bills = (await api.get(f"/api/v1/me/children/{leaver.id}/bills", headers=parent.headers)).json()["items"]
    assert {b["id"]: b["state"] for b in bills} == {paid_bill: "paid", owed["_id"]: "cancelled"}
    receipt = await api.get(f"/api/v1/me/bills/{paid_bill}/receipt", headers=parent.headers)
    assert receipt.status_code == 200 and receipt.json()["total_fen"] == school.amount_fen
    assert (await api.get(f"/api/v1/me/bills/{paid_bill}/receipt/pdf", headers=parent.headers)).status_code == 200
    pay = await api.post(f"/api/v1/me/bills/{owed['_id']}/orders", headers=parent.headers, json={"channel": "wechatpay"})
    assert pay.status_code == 409 and pay.json()["errcode"] == "BILL_STATE_CONFLICT"

    # No bill is made for them any more; the classmate gets theirs.
    later = await publish_with_bills(pdeps, school.finance, school.school_id, fee_item("2026年秋季学期研学活动费"),
                                     reviewers=(EDU_REVIEWER, PRICE_REVIEWER))
    assert await bill_of(pdeps, later["_id"], leaver.id) is None
    assert (await bill_of(pdeps, later["_id"], classmate.id))["state"] == "unpaid"

    # An old roster still lists them: imported, but they stay left, and the report says so.
    numbers = {s["_id"]: s["student_no"] async for s in pdeps.db["students"].find({"school_id": school.school_id})}
    job = await import_roster(pdeps, school, [(numbers[c.id], c.name, c.id_number) for c in school.children])
    assert job["state"] == "done" and job["counts"]["left_kept"] == 1, job
    assert "1 名已离校的学生仍在花名册中，未恢复为在读" in job["message"]
    assert [(n["errcode"], n["student_no"], n["row"]) for n in job["notices"]] == [
        ("STUDENT_LEFT", numbers[leaver.id], 2)]
    shown = await api.get(f"/api/v1/schools/{school.school_id}/roster/imports/{job['_id']}", headers=finance.headers)
    assert shown.json()["notices"][0]["errcode"] == "STUDENT_LEFT" and "未恢复为在读" in shown.json()["notices"][0]["reason"]
    student = await pdeps.db["students"].find_one({"_id": leaver.id})
    assert student["left"]["on"] == today.isoformat() and student["last_import_job"] != job["_id"]
    assert await bill_of(pdeps, later["_id"], leaver.id) is None  # the import's catch-up made nothing for them
    classes = (await api.get(f"/api/v1/schools/{school.school_id}/classes", headers=finance.headers)).json()["items"]
    assert [c["students"] for c in classes] == [1]
    roster = (await api.get(f"/api/v1/schools/{school.school_id}/classes/{classes[0]['id']}/students",
                            headers=finance.headers)).json()["items"]
    assert {s["id"]: (s["left"] or {}).get("kind") for s in roster} == {leaver.id: "transfer", classmate.id: None}
    assert date.fromisoformat(child["left_on"]) == today
