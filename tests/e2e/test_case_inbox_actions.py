"""The inbox actions the other case tests do not take: an opinion, a transfer to a colleague, a release back to
the department, and the `mine` filter — each only by the holder, each in the case's chained history."""

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
    open_task,
)
from tests.support.population import PopulationSim
from tests.support.sms import SmsSim
from tests.support.wechat import SimControl


async def test_opinion_transfer_release_and_mine(api: httpx.AsyncClient, wechat: SimControl,
                                                 population: PopulationSim, sms: SmsSim, deps: Dependencies,
                                                 demo_catalogue: object) -> None:
    me = await bound_resident(api, wechat, population)
    first = await department_staff(deps, api, sms, "nx_estate")
    second = await department_staff(deps, api, sms, "nx_estate")
    elsewhere = await department_staff(deps, api, sms, "nx_tax")
    draft = (await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=me.headers)).json()
    submitted = await api.post(f"/api/v1/cases/{draft['id']}/submit", headers=me.headers, json={
        "form": estate_form(me.id_number), "materials": await estate_materials(api, me, deps)})
    assert submitted.status_code == 200, submitted.text
    task = await open_task(api, first, draft["id"], "prereview")
    path = f"/api/v1/staff/tasks/{task['id']}"

    not_held = await api.post(f"{path}/opinions", json={"opinion": "先看看"}, headers=first.headers)
    assert (not_held.status_code, not_held.json()["errcode"]) == (409, "TASK_NOT_CLAIMED")
    await act(api, first, f"{path}/claim")
    noted = await act(api, first, f"{path}/opinions", {"opinion": "材料基本齐全，待核对面积"})
    assert [o["opinion"] for o in noted["opinions"]] == ["材料基本齐全，待核对面积"]

    async def mine(staff: object) -> list[str]:
        page = await api.get("/api/v1/staff/tasks", params={"filter": "mine", "limit": 50},
                             headers=staff.headers)  # type: ignore[attr-defined]
        assert page.status_code == 200, page.text
        return [t["id"] for t in page.json()["items"]]

    assert task["id"] in await mine(first) and task["id"] not in await mine(second)
    wrong = await api.post(f"{path}/transfer", json={"to_staff_id": elsewhere.staff_id}, headers=first.headers)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["errcode"] == "STAFF_CANNOT_TAKE"
    moved = await act(api, first, f"{path}/transfer", {"to_staff_id": second.staff_id, "opinion": "请接手"})
    assert moved["assignee"]["staff_id"] == second.staff_id and moved["state"] == "claimed"
    assert task["id"] in await mine(second) and task["id"] not in await mine(first)
    gone = await api.post(f"{path}/release", headers=first.headers)
    assert (gone.status_code, gone.json()["errcode"]) == (409, "TASK_NOT_CLAIMED")
    released = await act(api, second, f"{path}/release")
    assert released["state"] == "open" and released["assignee"] is None

    history = (await api.get(f"/api/v1/staff/cases/{draft['id']}", headers=first.headers)).json()["history"]
    assert [e["action"] for e in history][-4:] == ["start_prereview", "opinion", "transfer", "release"]
    chain = (await api.get(f"/api/v1/staff/cases/{draft['id']}/chain", headers=first.headers)).json()
    assert chain["ok"] is True and chain["events"] == len(history)
