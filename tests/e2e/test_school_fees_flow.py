"""School fees end to end over HTTP, against the real servers and the session's Celery worker: a roster import
with its row-by-row report, a fee item through the joint review of the education and price departments,
publishing (bills for the applicable grades and classes only), the bills export, and withdrawal."""

from __future__ import annotations

import re

import httpx

from config.wiring import Dependencies
from tests.support.schools import (
    HEADERS,
    Pupil,
    child_id_number,
    classes,
    create_fee_item,
    export_rows,
    fee_item,
    fee_item_body,
    import_roster,
    new_pupils,
    publish_and_bill,
    published_item,
    register_school,
    roster_template,
    roster_xlsx,
    step,
    students,
    upload_roster,
    wait_for_bills,
    wait_for_job,
)
from tests.support.sms import SmsSim

ID_OR_PHONE = re.compile(r"\d{11,}")


def bad_check_digit(number: str) -> str:
    return number[:17] + next(c for c in "0123456789X" if c != number[17])


async def test_roster_import_reports_every_bad_row_then_imports_once(
        api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    template = await roster_template(api, school)
    good = new_pupils(3)
    twin = Pupil(good[0].student_no, "李子涵", "一年级", "1班", child_id_number(), ("13912345678",))
    bad_id = Pupil("B-1", "王一诺", "一年级", "1班", bad_check_digit(child_id_number()))
    bad_phone = Pupil("B-2", "张雨桐", "一年级", "2班", child_id_number(), ("1391234567",))

    # -- a bad file: every problem by row and column, nothing imported ------------------------------------------
    job = await import_roster(api, school, roster_xlsx(template, [*good, bad_id, twin, bad_phone]))
    assert job["state"] == "failed" and job["counts"] == {"rows": 6, "issues": 3}, job
    found = {(i["row"], i["column"], i["errcode"]) for i in job["issues"]}
    assert found == {(5, HEADERS["id_number"], "CITIZEN_ID_CHECKSUM"),
                     (6, HEADERS["student_no"], "DUPLICATE_STUDENT_NO"),
                     (7, HEADERS["phone1"], "PHONE_LENGTH")}, job["issues"]
    assert job["issues_total"] == 3 and "未导入任何学生" in job["message"]
    twin_issue = next(i for i in job["issues"] if i["row"] == 6)
    assert "第 2 行" in twin_issue["reason"] and twin_issue["student_no"] == good[0].student_no
    for pupil in (bad_id, bad_phone, twin):  # the report never repeats an ID or phone number
        assert pupil.id_number not in str(job) and all(p not in str(job) for p in pupil.phones)
    assert await classes(api, school) == {}

    # -- the corrected file: imported; the list shows numbers masked --------------------------------------------
    data = roster_xlsx(template, good)
    done = await import_roster(api, school, data)
    assert done["state"] == "done" and done["progress"] == 100, done
    assert done["counts"] == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0}
    listed = await students(api, school)
    assert set(listed) == {p.student_no for p in good}
    for pupil in good:
        shown = listed[pupil.student_no]
        assert shown["name"] == pupil.name and shown["class_name"] == "1班" and shown["guardians_linked"] == 0
        assert shown["id_number"].startswith(pupil.id_number[:6]) and pupil.id_number[6:14] not in shown["id_number"]
        assert shown["guardian_phones"] == [pupil.phones[0][:3] + "****" + pupil.phones[0][-4:]]
    [klass] = (await classes(api, school)).values()
    assert (klass["grade"], klass["name"], klass["students"]) == ("一年级", "1班", 3)

    # -- the same file again: a new job, every student unchanged, the same ids ----------------------------------
    again = await import_roster(api, school, data)
    assert again["job_id"] != done["job_id"]
    assert again["counts"] == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3}, again
    assert await students(api, school) == listed

    # -- one pupil moves class: updated in place, by student number ---------------------------------------------
    moved = Pupil(good[2].student_no, good[2].name, "一年级", "2班", good[2].id_number, good[2].phones)
    changed = await import_roster(api, school, roster_xlsx(template, [*good[:2], moved]))
    assert changed["counts"] == {"rows": 3, "created": 0, "updated": 1, "unchanged": 2}, changed
    after = await students(api, school)
    assert after[moved.student_no]["id"] == listed[moved.student_no]["id"]
    assert after[moved.student_no]["class_name"] == "2班"

    # -- an ID number already registered under another student number is that row's problem -------------------
    clash = Pupil("C-9", "赵可馨", "一年级", "1班", good[0].id_number)
    refused = await import_roster(api, school, roster_xlsx(template, [clash]))
    assert [(i["row"], i["errcode"]) for i in refused["issues"]] == [(2, "ID_NUMBER_TAKEN")], refused


async def test_same_file_uploaded_twice_at_once_is_one_job(
        api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    data = roster_xlsx(await roster_template(api, school), new_pupils(2))
    first, second = await upload_roster(api, school, data), await upload_roster(api, school, data)
    assert first.status_code == 202, first.text
    if second.status_code == 200:  # still queued or running: the double click joined the first job
        assert second.json()["job_id"] == first.json()["job_id"]
    else:  # the worker had already finished it: a second run finds nothing to change
        assert second.status_code == 202, second.text
    jobs = {first.json()["job_id"], second.json()["job_id"]}
    outcomes = [await wait_for_job(api, school, job_id) for job_id in sorted(jobs)]
    assert sum(job["counts"]["created"] for job in outcomes) == 2, outcomes


async def test_joint_review_publish_bills_for_applicable_students_then_withdraw(
        api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    education, price = school.officials.education, school.officials.price
    pupils = [*new_pupils(2, grade="一年级", class_name="1班", prefix="A"),
              *new_pupils(1, grade="一年级", class_name="2班", prefix="B"),
              *new_pupils(2, grade="二年级", class_name="1班", prefix="C"),
              *new_pupils(2, grade="三年级", class_name="1班", prefix="D")]
    template = await roster_template(api, school)
    assert (await import_roster(api, school, roster_xlsx(template, pupils)))["state"] == "done"
    by_class = await classes(api, school)
    second_1 = by_class[("二年级", "1班")]["id"]

    # -- the school drafts; a grade it does not have is refused ------------------------------------------------
    unknown = await api.post(f"/api/v1/schools/{school.code}/fee-items", headers=school.headers,
                             json=fee_item_body(grades=["九年级"]))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["errcode"] == "GRADE_UNKNOWN", unknown.text
    item = await create_fee_item(api, school, grades=["一年级"], class_ids=[second_1], amount_fen=12050)
    assert (item["state"], item["revision"], item["amount_yuan"]) == ("draft", 0, "120.50")
    assert [c["id"] for c in item["classes"]] == [second_1]
    await step(api, school, item, "publish", 409)  # never reviewed

    # -- round 1: the education department rejects with a reason → back to the school as a draft ----------------
    item = (await step(api, school, item, "submit")).json()
    assert (item["state"], item["round"]) == ("under_review", 1)
    for reviewer in (education, price):
        waiting = (await api.get("/api/v1/fee-items/awaiting-review", headers=reviewer.headers)).json()["items"]
        assert item["id"] in {i["id"] for i in waiting}
    no_reason = await api.post(f"/api/v1/fee-items/{item['id']}/reject", headers=education.headers,
                               json={"revision": item["revision"]})
    assert no_reason.status_code == 422, no_reason.text
    school_self = await step(api, school, item, "approve", 403)  # the school cannot review its own item
    assert school_self.json()["errcode"] == "FORBIDDEN"
    item = (await step(api, education, item, "reject", reason="收费依据文号有误，请核对")).json()
    assert item["state"] == "draft"
    assert [(r["side"], r["reason"]) for r in item["rejections"]] == [("education", "收费依据文号有误，请核对")]

    edited = await api.put(f"/api/v1/fee-items/{item['id']}", headers=school.headers,
                           json={**fee_item_body(grades=["一年级"], class_ids=[second_1]), "amount_fen": 12000,
                                 "revision": item["revision"]})
    assert edited.status_code == 200, edited.text
    item = edited.json()
    assert item["amount_fen"] == 12000

    # -- round 2: education approves, price rejects → draft again; publishing before both approve is refused ----
    item = (await step(api, school, item, "submit")).json()
    item = (await step(api, education, item, "approve")).json()
    assert item["state"] == "under_review" and item["reviews"]["education"]["decision"] == "approved"
    twice = await step(api, education, item, "approve", 409)  # one opinion per department per round
    assert twice.json()["errcode"] == "FEE_ITEM_STATE_CONFLICT"
    await step(api, school, item, "publish", 409)
    stale = {**item, "revision": item["revision"] - 1}
    assert (await step(api, price, stale, "approve", 409)).json()["errcode"] == "CONFLICT"
    item = (await step(api, price, item, "reject", reason="金额超过核定标准")).json()
    assert item["state"] == "draft" and [r["side"] for r in item["rejections"]] == ["education", "price"]

    # -- round 3: both review again from scratch, then the school publishes --------------------------------------
    item = (await step(api, school, item, "submit")).json()
    assert item["round"] == 3 and {r["decision"] for r in item["reviews"].values()} == {"pending"}
    item = (await step(api, price, item, "approve")).json()
    item = (await step(api, education, item, "approve")).json()
    assert item["state"] == "approved" and item["approved_at"]
    item = await publish_and_bill(api, school, item)
    assert item["state"] == "published" and item["bills"] == {"state": "done", "generated": 5, "cancelled": 0}

    # -- bills for grade 一年级 and class 二年级1班 only ---------------------------------------------------------
    billed = {cls: await export_rows(api, school, by_class[cls]["id"], item["id"]) for cls in by_class}
    assert {cls: len(rows) for cls, rows in billed.items()} == {
        ("一年级", "1班"): 2, ("一年级", "2班"): 1, ("二年级", "1班"): 2, ("三年级", "1班"): 0}
    first_class = billed[("一年级", "1班")]
    assert [r["学号"] for r in first_class] == sorted(p.student_no for p in pupils[:2])
    assert {(r["应缴金额（元）"], r["状态"], r["收费项目"]) for r in first_class} == {("120.00", "待缴费", item["name"])}
    assert not any(ID_OR_PHONE.search(str(v)) for rows in billed.values() for r in rows for v in r.values())

    # -- a published item is never edited; importing the roster again makes no second bill ----------------------
    body = {**fee_item_body(grades=["一年级"]), "revision": item["revision"]}
    frozen = await api.put(f"/api/v1/fee-items/{item['id']}", headers=school.headers, json=body)
    assert frozen.status_code == 409 and frozen.json()["state"] == "published", frozen.text
    assert set(frozen.json()) >= {"errcode", "errmsg", "request_id"}
    assert (await import_roster(api, school, roster_xlsx(template, pupils)))["counts"]["unchanged"] == 7
    assert (await fee_item(api, school, item["id"]))["bills"]["generated"] == 5

    # -- withdrawal cancels every unpaid bill --------------------------------------------------------------------
    item = (await step(api, school, item, "withdraw", reason="上级通知暂停收取")).json()
    assert item["state"] == "withdrawn" and item["bills"]["cancelled"] == 5
    assert item["withdraw_reason"] == "上级通知暂停收取"
    rows = await export_rows(api, school, by_class[("一年级", "1班")]["id"])
    assert {(r["状态"], r["取消原因"]) for r in rows} == {("已取消", "上级通知暂停收取")}
    assert (await step(api, school, item, "withdraw", 409, reason="再次撤回")).json()["state"] == "withdrawn"


async def test_new_students_after_publishing_get_their_bills(
        api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    template = await roster_template(api, school)
    pupils = new_pupils(2)
    assert (await import_roster(api, school, roster_xlsx(template, pupils)))["state"] == "done"
    item = await published_item(api, school)
    assert item["bills"]["generated"] == 2
    newcomer = new_pupils(1, prefix="N")
    assert (await import_roster(api, school, roster_xlsx(template, [*pupils, *newcomer])))["counts"]["created"] == 1
    await wait_for_bills(api, school, item["id"], generated=3)  # the same worker task catches up after the job
    klass = (await classes(api, school))[("一年级", "1班")]["id"]
    rows = await export_rows(api, school, klass, item["id"])
    assert sorted(r["学号"] for r in rows) == sorted(p.student_no for p in [*pupils, *newcomer])
