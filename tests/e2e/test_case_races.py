"""Races a case must survive on the real MongoDB: two staff claiming one task at once, two departments deciding
at the same instant (no spurious 409, exactly one approval) — and the supervision sweep run by the real Celery
worker from its beat task."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest

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
from tests.support.worker import CeleryWorker


async def submitted(api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim,
                    deps: Dependencies) -> str:
    me = await bound_resident(api, wechat, population)
    draft = (await api.post("/api/v1/cases", json={"matter_code": ESTATE}, headers=me.headers)).json()
    response = await api.post(f"/api/v1/cases/{draft['id']}/submit", headers=me.headers, json={
        "form": estate_form(me.id_number), "materials": await estate_materials(api, me, deps)})
    assert response.status_code == 200, response.text
    return draft["id"]


async def test_two_staff_claim_at_once_and_two_departments_decide_at_once(
        api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim, sms: SmsSim, deps: Dependencies,
        demo_catalogue: object) -> None:
    first = await department_staff(deps, api, sms, "nx_estate")
    second = await department_staff(deps, api, sms, "nx_estate")
    tax = await department_staff(deps, api, sms, "nx_tax")
    case_id = await submitted(api, wechat, population, deps)
    task = await open_task(api, first, case_id, "prereview")

    claims = await asyncio.gather(*(api.post(f"/api/v1/staff/tasks/{task['id']}/claim", headers=who.headers)
                                    for who in (first, second, first, second)))
    assert sorted(r.status_code for r in claims) == [200, 409, 409, 409]
    winner = first if any(r.status_code == 200 and r.json()["assignee"]["staff_id"] == first.staff_id
                          for r in claims) else second
    await act(api, winner, f"/api/v1/staff/tasks/{task['id']}/accept")

    estate_task = await open_task(api, winner, case_id, "review")
    tax_task = await open_task(api, tax, case_id, "review")
    await act(api, winner, f"/api/v1/staff/tasks/{estate_task['id']}/claim")
    await act(api, tax, f"/api/v1/staff/tasks/{tax_task['id']}/claim")
    decisions = await asyncio.gather(
        api.post(f"/api/v1/staff/tasks/{estate_task['id']}/decision", headers=winner.headers,
                 json={"approve": True, "opinion": "同意"}),
        api.post(f"/api/v1/staff/tasks/{tax_task['id']}/decision", headers=tax.headers,
                 json={"approve": True, "opinion": "同意"}))
    assert [r.status_code for r in decisions] == [200, 200], [r.text for r in decisions]
    final = (await api.get(f"/api/v1/staff/cases/{case_id}", headers=winner.headers)).json()
    assert final["state"] == "approved"
    assert [e["action"] for e in final["history"]].count("approve") == 1
    chain = (await api.get(f"/api/v1/staff/cases/{case_id}/chain", headers=winner.headers)).json()
    assert chain["ok"] is True


@pytest.mark.slow
async def test_the_beat_task_sweeps_in_the_worker(api: httpx.AsyncClient, wechat: SimControl,
                                                   population: PopulationSim, deps: Dependencies,
                                                   demo_catalogue: object, celery_worker: CeleryWorker) -> None:
    case_id = await submitted(api, wechat, population, deps)
    tasks = deps.cases.inbox.tasks
    past = deps.cases.now() - timedelta(minutes=1)
    await tasks.collection.update_many({"case_id": case_id}, {"$set": {"warning_at": past}})
    await deps.tasks.send("affairs.supervision_sweep")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        [task] = await tasks.of_case(case_id)
        if task["supervision"].get("warning"):
            break
        await asyncio.sleep(0.2)
    assert task["supervision"].get("warning"), celery_worker.log_text()[-2000:]
    events = await deps.cases.apply.history.outbox.for_subject("case", case_id)
    assert [e["topic"] for e in events].count("task.warning") == 1
