"""A case end to end over HTTP against the real servers: one form, pre-review, one supplement notice with every
problem, resubmission, acceptance, two departments approving in parallel, completion with an e-certificate —
and the audit chain catching a tampered event."""

from __future__ import annotations

import uuid

import httpx

from config.wiring import Dependencies
from tests.support.cases import (
    ESTATE,
    act,
    bound_resident,
    department_staff,
    estate_form,
    estate_materials,
    open_task,
    uploaded_document,
)
from tests.support.identity import miniprogram_login
from tests.support.population import PopulationSim
from tests.support.sms import SmsSim
from tests.support.wechat import SimControl


async def test_apply_supplement_accept_parallel_approval_complete(
        api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim, sms: SmsSim, deps: Dependencies,
        demo_catalogue: object) -> None:
    me = await bound_resident(api, wechat, population)
    estate = await department_staff(deps, api, sms, "nx_estate")
    tax = await department_staff(deps, api, sms, "nx_tax")

    # -- apply: the draft comes pre-filled from the verified profile (免填写) -----------------------------------
    started = await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=me.headers)
    assert started.status_code == 201, started.text
    draft = started.json()
    case_id = draft["id"]
    assert draft["state"] == "draft" and draft["allowed_actions"] == ["submit", "withdraw"]
    assert draft["applicant"]["id_masked"].startswith(me.id_number[:6]) and "*" in draft["applicant"]["id_masked"]
    assert set(draft["matter"]["co_department_codes"]) and draft["clock"] is None

    # -- a bad form: every problem at once, the missing materials too ---------------------------------------------
    bad = await api.post(f"/api/v1/cases/{case_id}/submit", headers=me.headers, json={
        "form": estate_form(me.id_number, area_m2=-3, contact_phone="12345")})
    assert bad.status_code == 422, bad.text
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"form.area_m2", "form.contact_phone", "materials.0", "materials.1", "materials.2",
            "materials.4"} <= fields
    assert "materials.3" not in fields  # optional

    # -- submit, replayed with the same Idempotency-Key: one case, the same answer -------------------------------
    materials = await estate_materials(api, me, deps)
    key = str(uuid.uuid4())
    body = {"form": estate_form(me.id_number), "materials": materials}
    submitted = await api.post(f"/api/v1/cases/{case_id}/submit", json=body,
                               headers=me.headers | {"Idempotency-Key": key})
    assert submitted.status_code == 200, submitted.text
    replay = await api.post(f"/api/v1/cases/{case_id}/submit", json=body,
                            headers=me.headers | {"Idempotency-Key": key})
    assert replay.status_code == 200 and replay.json()["id"] == case_id
    assert replay.json()["version"] == submitted.json()["version"]  # nothing applied twice
    case = submitted.json()
    assert case["state"] == "submitted" and case["clock"]["promised_days"] == 5
    assert me.id_number not in submitted.text  # the seller's number is shown masked
    assert case["form"]["right_holders"][0]["id_number"].count("*") == 8
    mine = (await api.get("/api/v1/cases", headers=me.headers)).json()["items"]
    assert [c["id"] for c in mine].count(case_id) == 1

    # -- pre-review: claim (atomically), then one notice listing every problem -----------------------------------
    task = await open_task(api, estate, case_id, "prereview")
    claimed = await act(api, estate, f"/api/v1/staff/tasks/{task['id']}/claim")
    assert claimed["assignee"]["staff_id"] == estate.staff_id
    again = await api.post(f"/api/v1/staff/tasks/{task['id']}/claim", headers=estate.headers)
    assert (again.status_code, again.json()["errcode"]) == (409, "TASK_CLAIMED_BY_OTHER")
    foreign = await api.post(f"/api/v1/staff/tasks/{task['id']}/accept", json={}, headers=tax.headers)
    assert (foreign.status_code, foreign.json()["errcode"]) == (403, "FORBIDDEN")
    notice = await act(api, estate, f"/api/v1/staff/tasks/{task['id']}/supplement", {"problems": [
        {"target": "form.area_m2", "message": "面积与不动产权证书记载不符"},
        {"target": "materials.2", "message": "买卖合同缺少买方签字页"}]})
    assert notice["state"] == "needs_supplement" and notice["clock"]["paused"] is True
    assert len(notice["supplements"]) == 1 and len(notice["supplements"][0]["problems"]) == 2
    not_now = await api.post(f"/api/v1/cases/{case_id}/withdraw", json={"reason": "x" * 4, "version": 1},
                             headers=me.headers)
    assert (not_now.status_code, not_now.json()["errcode"]) == (409, "CASE_VERSION_CONFLICT")

    # -- resubmit: only the area and the contract change --------------------------------------------------------
    fixed = [m if m["index"] != 2 else {"index": 2, "document_ids": [await uploaded_document(api, me, "合同2.jpg")]}
             for m in materials]
    seen = (await api.get(f"/api/v1/cases/{case_id}", headers=me.headers)).json()
    resubmitted = await api.post(f"/api/v1/cases/{case_id}/resubmit", headers=me.headers, json={
        "form": seen["form"] | {"area_m2": 98.0}, "materials": fixed})
    assert resubmitted.status_code == 200, resubmitted.text
    assert set(resubmitted.json()["last_resubmission"]["changed"]) == {"form.area_m2", "materials.2"}

    # -- a second notice only for what the resubmission changed (一次性告知) ---------------------------------------
    task2 = await open_task(api, estate, case_id, "prereview")
    await act(api, estate, f"/api/v1/staff/tasks/{task2['id']}/claim")
    drip = await api.post(f"/api/v1/staff/tasks/{task2['id']}/supplement", headers=estate.headers, json={
        "problems": [{"target": "form.property_location", "message": "坐落写法不规范"}]})
    assert (drip.status_code, drip.json()["errcode"]) == (409, "SUPPLEMENT_ALREADY_NOTIFIED")
    accepted = await act(api, estate, f"/api/v1/staff/tasks/{task2['id']}/accept", {"opinion": "材料齐全，予以受理"})
    assert accepted["state"] == "in_review" and accepted["receipt_no"].startswith("430182")
    reviews = {t["department_code"]: t for t in accepted["tasks"] if t["stage"] == "review"}
    assert len(reviews) == 2 and all(t["state"] == "open" for t in reviews.values())
    assert {t["remaining_working_days"] for t in reviews.values()} == {accepted["clock"]["remaining_working_days"]}

    # -- staff open the materials through short-lived links, each access on record -----------------------------
    contract = accepted["materials"][2]["document_ids"][0]
    link = await api.get(f"/api/v1/staff/cases/{case_id}/documents/{contract}/download", headers=tax.headers)
    assert link.status_code == 200, link.text
    async with httpx.AsyncClient(timeout=10) as s3:
        assert (await s3.get(link.json()["url"])).status_code == 200
    outsider = await department_staff(deps, api, sms, "nx_market")
    refused = await api.get(f"/api/v1/staff/cases/{case_id}/documents/{contract}/download",
                            headers=outsider.headers)
    assert refused.status_code == 403
    replaced = materials[2]["document_ids"][0]  # detached by the resubmission
    gone = await api.get(f"/api/v1/staff/cases/{case_id}/documents/{replaced}/download", headers=tax.headers)
    assert (gone.status_code, gone.json()["errcode"]) == (404, "DOCUMENT_NOT_FOUND")
    logged = await deps.db["document_access_log"].count_documents({"case_id": case_id, "staff_id": tax.staff_id})
    assert logged == 1

    # -- parallel review: both departments, in either order ------------------------------------------------------
    tax_task = await open_task(api, tax, case_id, "review")
    await act(api, tax, f"/api/v1/staff/tasks/{tax_task['id']}/claim")
    after_tax = await act(api, tax, f"/api/v1/staff/tasks/{tax_task['id']}/decision",
                          {"approve": True, "opinion": "契税已缴清"})
    assert after_tax["state"] == "in_review"
    estate_task = await open_task(api, estate, case_id, "review")
    await act(api, estate, f"/api/v1/staff/tasks/{estate_task['id']}/claim")
    approved = await act(api, estate, f"/api/v1/staff/tasks/{estate_task['id']}/decision",
                         {"approve": True, "opinion": "权属清楚，准予登记"})
    assert approved["state"] == "approved"
    wrong_dept = await api.post(f"/api/v1/staff/cases/{case_id}/complete", json={"kind": "ecert"},
                                headers=tax.headers)
    assert wrong_dept.status_code == 403
    done = await act(api, estate, f"/api/v1/staff/cases/{case_id}/complete", {"kind": "ecert"})
    assert done["state"] == "completed" and done["result"]["ecert"]["type"] == "real_estate_certificate"
    certs = (await api.get("/api/v1/me/ecerts", params={"type": "real_estate_certificate"},
                           headers=me.headers)).json()["items"]
    assert [c["id"] for c in certs] == [done["result"]["ecert"]["id"]]

    # -- the applicant follows every step; nobody else sees the case ---------------------------------------------
    timeline = (await api.get(f"/api/v1/cases/{case_id}/timeline", headers=me.headers)).json()["items"]
    actions = [e["action"] for e in timeline]
    assert actions[:3] == ["create", "submit", "start_prereview"] and actions[-1] == "complete"
    assert {"request_supplement", "resubmit", "accept", "start_review", "department_approved", "approve"} <= set(actions)
    assert all("id" not in e["actor"] for e in timeline)  # staff are shown by role and department only
    stranger = await miniprogram_login(api, wechat)
    for path in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/timeline"):
        other = await api.get(path, headers=stranger.headers)
        assert (other.status_code, other.json()["errcode"]) == (404, "RESOURCE_NOT_FOUND")

    # -- the notifications were written with the state changes ---------------------------------------------------
    topics = [e["topic"] for e in await deps.cases.apply.history.outbox.for_subject("case", case_id)]
    assert topics.count("case.accepted") == 1 and topics.count("case.completed") == 1
    assert topics.count("task.created") == 4  # two pre-reviews, two parallel reviews

    # -- the audit chain: verified, then tampered with and caught --------------------------------------------------
    chain = (await api.get(f"/api/v1/staff/cases/{case_id}/chain", headers=estate.headers)).json()
    assert chain["ok"] is True and chain["events"] == len(timeline)
    events = deps.cases.events.collection
    await events.update_one({"case_id": case_id, "seq": 5}, {"$set": {"opinion": "改过的意见"}})
    broken = (await api.get(f"/api/v1/staff/cases/{case_id}/chain", headers=estate.headers)).json()
    assert (broken["ok"], broken["broken_at_seq"]) == (False, 5)

    # -- the next application of the same matter: earlier answers pre-filled, the address among them (免填写) -------
    # The profile holds no address (docs/cases.md, "One form"): only earlier answers fill it; numbers never carry.
    again = await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=me.headers)
    assert again.status_code == 201, again.text
    prefilled = again.json()["form"]
    assert prefilled["property_location"] == estate_form(me.id_number)["property_location"]
    assert prefilled["area_m2"] == 98.0 and "contact_phone" not in prefilled
