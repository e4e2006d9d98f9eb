"""Other roads a case takes: 容缺 acceptance on a written promise, withdrawal, refusal, a denial by one of the
parallel departments, stale writes, and the rules of the one scope check for staff."""

from __future__ import annotations

import httpx

from config.wiring import Dependencies
from tests.support.cases import (
    ESTATE,
    act,
    bound_resident,
    department_staff,
    estate_form,
    estate_materials,
    filled,
    open_task,
    uploaded_document,
)
from tests.support.identity import miniprogram_login
from tests.support.population import PopulationSim
from tests.support.sms import SmsSim
from tests.support.wechat import SimControl

SOLE_TRADER = "430182-SJ-0002"  # 个体工商户设立登记: 经营场所使用证明 may be promised (容缺)


async def test_accept_with_a_promised_material(api: httpx.AsyncClient, wechat: SimControl,
                                               population: PopulationSim, sms: SmsSim, deps: Dependencies,
                                               demo_catalogue: object) -> None:
    me = await bound_resident(api, wechat, population)
    market = await department_staff(deps, api, sms, "nx_market")
    draft = (await api.post("/api/v1/cases", json={"matter_code": SOLE_TRADER}, headers=me.headers)).json()
    version = await deps.cases.apply.versions.get(SOLE_TRADER, draft["matter"]["version"])
    assert version is not None
    schema = version["guide"]["form_schema"]
    id_card = await deps.cases.ecerts.issue(holder_person_id=me.person_id, type_="resident_id_card",
                                            issuer="宁乡市公安局", title="居民身份证", now=deps.cases.now(),
                                            source_case_id=None)
    materials = [{"index": 0, "ecert_id": id_card["_id"]},
                 {"index": 1, "document_ids": [await uploaded_document(api, me, "申请书.jpg")]},
                 {"index": 2, "promise": "本人承诺 10 个工作日内补交经营场所租赁合同"}]
    not_deferrable = await api.post(f"/api/v1/cases/{draft['id']}/submit", headers=me.headers, json={
        "form": filled(schema), "materials": [*materials[:1], {"index": 1, "promise": "以后再交申请书"}]})
    assert not_deferrable.status_code == 422
    assert {(e["field"], e["errcode"]) for e in not_deferrable.json()["errors"]} == {
        ("materials.1.promise", "DEFER_NOT_ALLOWED"), ("materials.1", "MATERIAL_MISSING"),
        ("materials.2", "MATERIAL_MISSING")}

    submitted = await api.post(f"/api/v1/cases/{draft['id']}/submit", headers=me.headers,
                               json={"form": filled(schema), "materials": materials})
    assert submitted.status_code == 200, submitted.text
    task = await open_task(api, market, draft["id"], "prereview")
    await act(api, market, f"/api/v1/staff/tasks/{task['id']}/claim")
    accepted = await act(api, market, f"/api/v1/staff/tasks/{task['id']}/accept", {"deferred_due_days": 10})
    assert accepted["state"] == "in_review"
    [deferred] = accepted["deferred"]
    assert deferred["index"] == 2 and deferred["promise"].startswith("本人承诺") and deferred["due_date"] > "2000"
    history = [e for e in accepted["history"] if e["action"] == "accept"]
    assert history[0]["details"]["deferred"] == accepted["deferred"]


async def test_withdraw_refuse_and_deny(api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim,
                                        sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    me = await bound_resident(api, wechat, population)
    estate = await department_staff(deps, api, sms, "nx_estate")
    tax = await department_staff(deps, api, sms, "nx_tax")

    async def submitted_case() -> str:
        draft = (await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=me.headers)).json()
        response = await api.post(f"/api/v1/cases/{draft['id']}/submit", headers=me.headers, json={
            "form": estate_form(me.id_number), "materials": await estate_materials(api, me, deps)})
        assert response.status_code == 200, response.text
        return draft["id"]

    # withdrawn before a decision: the department's task disappears from the inbox
    first = await submitted_case()
    # both first pages read (and kept in Redis, core/list_cache.py) before the withdrawal...
    inbox = (await api.get("/api/v1/staff/tasks", headers=estate.headers, params={"limit": 50})).json()["items"]
    assert first in {t["case_id"] for t in inbox}
    mine = (await api.get("/api/v1/cases", headers=me.headers)).json()["items"]
    assert {c["id"]: c["state"] for c in mine}[first] == "submitted"
    withdrawn = await api.post(f"/api/v1/cases/{first}/withdraw", json={"reason": "买卖双方协商取消交易"},
                               headers=me.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert withdrawn.json()["allowed_actions"] == []
    # ...move on with it at once
    inbox = (await api.get("/api/v1/staff/tasks", headers=estate.headers, params={"limit": 50})).json()["items"]
    assert first not in {t["case_id"] for t in inbox}
    mine = (await api.get("/api/v1/cases", headers=me.headers)).json()["items"]
    assert {c["id"]: c["state"] for c in mine}[first] == "withdrawn"
    twice = await api.post(f"/api/v1/cases/{first}/withdraw", json={"reason": "再撤一次"}, headers=me.headers)
    assert (twice.status_code, twice.json()["errcode"], twice.json()["state"]) == (
        409, "CASE_STATE_CONFLICT", "withdrawn")

    # not accepted, with the reason
    second = await submitted_case()
    task = await open_task(api, estate, second, "prereview")
    await act(api, estate, f"/api/v1/staff/tasks/{task['id']}/claim")
    refused = await act(api, estate, f"/api/v1/staff/tasks/{task['id']}/not-accept",
                        {"reason": "该房屋存在查封登记，不符合受理条件"})
    assert refused["state"] == "not_accepted" and refused["clock"]["stopped"] is True

    # one department denies: the case is denied and the other department's task is cancelled
    third = await submitted_case()
    task = await open_task(api, estate, third, "prereview")
    await act(api, estate, f"/api/v1/staff/tasks/{task['id']}/claim")
    await act(api, estate, f"/api/v1/staff/tasks/{task['id']}/accept")
    unclaimed = await open_task(api, tax, third, "review")
    not_mine = await api.post(f"/api/v1/staff/tasks/{unclaimed['id']}/decision", headers=tax.headers,
                              json={"approve": False, "opinion": "未缴清契税"})
    assert (not_mine.status_code, not_mine.json()["errcode"]) == (409, "TASK_NOT_CLAIMED")
    await act(api, tax, f"/api/v1/staff/tasks/{unclaimed['id']}/claim")
    denied = await act(api, tax, f"/api/v1/staff/tasks/{unclaimed['id']}/decision",
                       {"approve": False, "opinion": "未缴清契税"})
    assert denied["state"] == "denied"
    states = {t["department_code"]: t["state"] for t in denied["tasks"] if t["stage"] == "review"}
    assert sorted(states.values()) == ["cancelled", "denied"]
    late = await api.post(f"/api/v1/cases/{third}/withdraw", json={"reason": "来不及了"}, headers=me.headers)
    assert late.status_code == 409 and late.json()["state"] == "denied"


async def test_bad_input_and_scope(api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim,
                                   sms: SmsSim, deps: Dependencies, demo_catalogue: object) -> None:
    unbound = await miniprogram_login(api, wechat)
    no_id = await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=unbound.headers)
    assert (no_id.status_code, no_id.json()["errcode"]) == (403, "CITIZEN_ID_REQUIRED")
    me = await bound_resident(api, wechat, population)
    unknown = await api.post("/api/v1/cases", json={"matter_code": "NOPE"}, headers=me.headers)
    assert (unknown.status_code, unknown.json()["errcode"]) == (404, "MATTER_NOT_FOUND")
    draft = (await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=me.headers)).json()
    stale = await api.put(f"/api/v1/cases/{draft['id']}", headers=me.headers,
                          json={"form": {}, "version": draft["version"] + 5})
    assert (stale.status_code, stale.json()["errcode"]) == (409, "CASE_VERSION_CONFLICT")
    saved = await api.put(f"/api/v1/cases/{draft['id']}", headers=me.headers,
                          json={"form": {"property_location": "玉潭街道"}, "version": draft["version"]})
    assert saved.status_code == 200 and saved.json()["form"]["property_location"] == "玉潭街道"
    others_doc = await uploaded_document(api, await bound_resident(api, wechat, population, "李四"), "别人的.jpg")
    stolen = await api.put(f"/api/v1/cases/{draft['id']}", headers=me.headers,
                           json={"materials": [{"index": 2, "document_ids": [others_doc]}]})
    assert stolen.status_code == 404 and stolen.json()["errcode"] == "DOCUMENT_NOT_FOUND"
    strange = await api.put(f"/api/v1/cases/{draft['id']}", headers=me.headers,
                            json={"materials": [{"index": 40}, {"index": 0, "ecert_id": "01" + "A" * 24}]})
    assert {e["errcode"] for e in strange.json()["errors"]} == {"UNKNOWN_MATERIAL", "ECERT_NOT_FOUND"}
    staff = await department_staff(deps, api, sms, "nx_estate")
    draft_for_staff = await api.get(f"/api/v1/staff/cases/{draft['id']}", headers=staff.headers)
    assert draft_for_staff.status_code == 404  # a draft is the applicant's alone
    resident_at_staff = await api.get("/api/v1/staff/tasks", headers=me.headers)
    assert (resident_at_staff.status_code, resident_at_staff.json()["errcode"]) == (403, "STAFF_ONLY")
    bad_filter = await api.get("/api/v1/staff/tasks", params={"filter": "x"}, headers=staff.headers)
    assert bad_filter.status_code == 422
