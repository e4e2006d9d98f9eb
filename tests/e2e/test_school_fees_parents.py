"""Parent–child linking (精准关联) end to end over HTTP: by the verified phone on the roster, by a school-issued
one-time link code; one answer for every mismatch; attempt limits; at most two guardians; a parent sees their
own child's bills only (anything else is 404, like a missing record: accounts/scopes.py)."""

from __future__ import annotations

import asyncio

import httpx

from config.wiring import Dependencies
from tests.support.school_parents import (
    child_bills,
    issue_link_code,
    link_child,
    parent_with_unpaid_bill,
    resident_parent,
    verified_parent,
)
from tests.support.schools import (
    enrolled,
    new_pupils,
    published_item,
    register_school,
    step,
    students,
)
from tests.support.sms import SmsSim
from tests.support.wechat import SimControl

NOT_MATCHED = "GUARDIAN_LINK_NOT_MATCHED"


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) >= {"errcode", "errmsg", "request_id"}, body
    return response.status_code, body["errcode"], body["errmsg"]


async def test_parent_links_by_phone_and_sees_only_their_childs_bills(
        api: httpx.AsyncClient, wechat: SimControl, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    flow = await parent_with_unpaid_bill(deps, api, wechat, sms, amount_fen=35000, classmates=1)
    school, parent = flow.school, flow.parent

    children = (await api.get("/api/v1/me/children", headers=parent.headers)).json()["items"]
    assert [(c["student_id"], c["via"], c["guardians"], c["school_name"]) for c in children] == [
        (flow.student_id, "phone", 1, school.name)]
    assert flow.pupil.id_number not in str(children) and "*" in children[0]["id_number"]
    mine = await api.get(f"/api/v1/me/bills/{flow.bill_id}", headers=parent.headers)
    assert mine.status_code == 200 and mine.json()["amount_yuan"] == "350.00", mine.text
    again = await link_child(api, parent, flow.pupil)  # a retried request: the same link, no second one
    assert again.status_code == 201 and again.json()["guardians"] == 1, again.text

    # -- another family links the classmate with a link code the school issued ---------------------------------
    classmate = flow.classmates[0]
    other = await resident_parent(api, wechat)
    roster = {number: s["id"] for number, s in (await students(api, school)).items()}
    code = await issue_link_code(api, school, roster[classmate.student_no])
    linked = await link_child(api, other, classmate, code=code.lower().replace("-", " "))  # as typed on a phone
    assert linked.status_code == 201 and linked.json()["via"] == "code", linked.text
    [their_bill] = await child_bills(api, other, roster[classmate.student_no])

    # -- each family sees its own child only: the other one is 404, exactly like one that does not exist --------
    missing_child = await api.get("/api/v1/me/children/01ZZZZZZZZZZZZZZZZZZZZZZZZ/bills", headers=parent.headers)
    foreign_child = await api.get(f"/api/v1/me/children/{roster[classmate.student_no]}/bills", headers=parent.headers)
    missing_bill = await api.get("/api/v1/me/bills/01ZZZZZZZZZZZZZZZZZZZZZZZZ", headers=parent.headers)
    foreign_bill = await api.get(f"/api/v1/me/bills/{their_bill['id']}", headers=parent.headers)
    for response in (missing_child, foreign_child, missing_bill, foreign_bill):
        assert refusal(response)[:2] == (404, "RESOURCE_NOT_FOUND"), response.text
    assert refusal(foreign_bill)[2] == refusal(missing_bill)[2]
    theirs = await api.get(f"/api/v1/me/bills/{flow.bill_id}", headers=other.headers)
    assert refusal(theirs)[:2] == (404, "RESOURCE_NOT_FOUND")
    assert [c["student_id"] for c in (await api.get("/api/v1/me/children", headers=other.headers)).json()["items"]] \
        == [roster[classmate.student_no]]

    # -- wrong kind of token: staff on a parent's endpoint, a parent on a staff endpoint -----------------------
    staff_on_parent = await api.get("/api/v1/me/children", headers=school.headers)
    assert refusal(staff_on_parent)[:2] == (403, "RESIDENT_ONLY")
    parent_on_staff = await api.get(f"/api/v1/schools/{school.code}/classes", headers=parent.headers)
    assert refusal(parent_on_staff)[:2] == (403, "STAFF_ONLY")

    # -- withdrawing the item cancels the parent's unpaid bill, with the school's reason ------------------------
    await step(api, school, flow.fee_item, "withdraw", reason="收费标准调整，另行通知")
    [cancelled] = await child_bills(api, parent, flow.student_id)
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled", "收费标准调整，另行通知")

    # -- unlinking ends the parent's view at once -------------------------------------------------------------
    gone = await api.delete(f"/api/v1/me/children/{flow.student_id}", headers=parent.headers)
    assert gone.status_code == 204, gone.text
    after = await api.get(f"/api/v1/me/bills/{flow.bill_id}", headers=parent.headers)
    assert refusal(after)[:2] == (404, "RESOURCE_NOT_FOUND")
    assert (await api.get("/api/v1/me/children", headers=parent.headers)).json()["items"] == []


async def test_link_code_is_single_use_and_a_new_one_revokes_the_old(
        api: httpx.AsyncClient, wechat: SimControl, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    pupils = new_pupils(2)
    roster = await enrolled(api, school, pupils)
    child, sibling = roster[pupils[0].student_no]["id"], roster[pupils[1].student_no]["id"]
    first, second, third = [await resident_parent(api, wechat) for _ in range(3)]

    old = await issue_link_code(api, school, child)
    new = await issue_link_code(api, school, child)  # handed out again: the old paper slip stops working
    assert refusal(await link_child(api, first, pupils[0], code=old))[:2] == (422, NOT_MATCHED)
    sibling_code = await issue_link_code(api, school, sibling)  # a live code, but another child's
    assert refusal(await link_child(api, first, pupils[0], code=sibling_code))[:2] == (422, NOT_MATCHED)
    assert (await link_child(api, first, pupils[0], code=new)).status_code == 201
    used = await link_child(api, second, pupils[0], code=new)  # single use
    assert refusal(used)[:2] == (422, NOT_MATCHED)
    assert (await link_child(api, third, pupils[1], code=sibling_code)).status_code == 201  # still live
    assert (await students(api, school))[pupils[0].student_no]["guardians_linked"] == 1


async def test_every_mismatch_gets_one_answer_and_attempts_are_limited(
        api: httpx.AsyncClient, wechat: SimControl, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    parent = await verified_parent(api, wechat, sms)
    pupils = new_pupils(3, phones=[parent.phone_e164 or "", parent.phone_e164 or ""])
    roster = await enrolled(api, school, pupils)
    stranger = await verified_parent(api, wechat, sms)  # verified, but not the phone on the roster

    wrong_name = await link_child(api, parent, pupils[0], name="王某某")
    wrong_id = await link_child(api, parent, pupils[0], id_number=pupils[2].id_number)  # valid, someone else's
    wrong_phone = await link_child(api, stranger, pupils[0])
    wrong_code = await link_child(api, stranger, pupils[0], code="ABCD-EFGH")
    answers = {refusal(r) for r in (wrong_name, wrong_id, wrong_phone, wrong_code)}
    assert len(answers) == 1 and answers.pop()[:2] == (422, NOT_MATCHED)
    malformed = await link_child(api, parent, pupils[0], id_number=pupils[0].id_number[:17] + "Y")
    assert malformed.status_code == 422 and malformed.json()["errcode"] == "CITIZEN_ID_INVALID", malformed.text

    # -- 10 attempts a day per person (the parent's 3 above count, malformed too), then 429 even when right ------
    for _ in range(7):
        assert refusal(await link_child(api, parent, pupils[1], name="李某某"))[:2] == (422, NOT_MATCHED)
    limited = await link_child(api, parent, pupils[1])
    assert refusal(limited)[:2] == (429, "GUARDIAN_LINK_ATTEMPTS_EXCEEDED")
    assert int(limited.headers["Retry-After"]) > 0
    assert roster[pupils[1].student_no]["guardians_linked"] == 0
    other = await verified_parent(api, wechat, sms)  # the limit is the person's, not the child's
    assert refusal(await link_child(api, other, pupils[1]))[:2] == (422, NOT_MATCHED)


async def test_a_child_has_at_most_two_guardians(
        api: httpx.AsyncClient, wechat: SimControl, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    mother, father = await verified_parent(api, wechat, sms), await verified_parent(api, wechat, sms)
    [pupil] = new_pupils(1, phones=[mother.phone_e164 or ""])
    pupil.phones = (*pupil.phones, (father.phone_e164 or "").removeprefix("+86"))
    student_id = (await enrolled(api, school, [pupil]))[pupil.student_no]["id"]
    item = await published_item(api, school, amount_fen=8000)

    assert (await link_child(api, mother, pupil)).status_code == 201
    both = await link_child(api, father, pupil)
    assert both.status_code == 201 and both.json()["guardians"] == 2, both.text
    assert [b["fee_item_id"] for b in await child_bills(api, father, student_id)] == [item["id"]]
    grandma = await resident_parent(api, wechat)
    code = await issue_link_code(api, school, student_id)
    full = await link_child(api, grandma, pupil, code=code)
    assert refusal(full)[:2] == (409, "GUARDIANS_FULL")

    assert (await api.delete(f"/api/v1/me/children/{student_id}", headers=father.headers)).status_code == 204
    joined = await link_child(api, grandma, pupil, code=code)  # the refused attempt did not use up the code
    assert joined.status_code == 201 and joined.json()["guardians"] == 2, joined.text
    assert len(await child_bills(api, grandma, student_id)) == 1


async def test_racing_links_never_make_a_third_guardian_nor_use_a_code_twice(
        api: httpx.AsyncClient, wechat: SimControl, sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    school = await register_school(deps, api, sms)
    mother, father = await verified_parent(api, wechat, sms), await verified_parent(api, wechat, sms)
    [pupil] = new_pupils(1, phones=[mother.phone_e164 or ""])
    pupil.phones = (*pupil.phones, (father.phone_e164 or "").removeprefix("+86"))
    student_id = (await enrolled(api, school, [pupil]))[pupil.student_no]["id"]
    code = await issue_link_code(api, school, student_id)
    first, second = await resident_parent(api, wechat), await resident_parent(api, wechat)

    # two families type the same paper code at the same moment: one link
    both = await asyncio.gather(link_child(api, first, pupil, code=code), link_child(api, second, pupil, code=code))
    assert sorted(r.status_code for r in both) == [201, 422], [r.text for r in both]

    # the two phones on the roster race for the one place left: one link, the other 409
    raced = await asyncio.gather(link_child(api, mother, pupil), link_child(api, father, pupil))
    assert sorted(r.status_code for r in raced) == [201, 409], [r.text for r in raced]
    assert {refusal(r)[1] for r in raced if r.status_code == 409} == {"GUARDIANS_FULL"}
    assert (await students(api, school))[pupil.student_no]["guardians_linked"] == 2
