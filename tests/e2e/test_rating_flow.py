"""好差评 end to end over HTTP, with the real outbox relay and Celery worker: a case applied for, accepted,
approved by both departments and completed; the invitation to rate reaches the applicant's in-app inbox; the
applicant gives a 差评 (once: a replay answers the same, a change is refused); the implementing department
lists it, another department may not answer it, the implementing one records its follow-up; the applicant sees
the department's reply on the case. The case steps reuse the notification flow's helpers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from config.wiring import Dependencies
from tests.e2e.test_notify_flows import accepted_case, event_of, pipeline  # noqa: F401  (pipeline: a fixture)
from tests.support.cases import act, bound_resident, department_staff, open_task
from tests.support.identity import miniprogram_login
from tests.support.notify import PipelineProcess, eventually
from tests.support.population import PopulationSim
from tests.support.sms import SmsSim
from tests.support.staff import StaffSession
from tests.support.wechat import SimControl

pytestmark = pytest.mark.slow


async def approve(api: httpx.AsyncClient, staff: StaffSession, case_id: str) -> dict[str, Any]:
    task = await open_task(api, staff, case_id, "review")
    await act(api, staff, f"/api/v1/staff/tasks/{task['id']}/claim")
    return await act(api, staff, f"/api/v1/staff/tasks/{task['id']}/decision", {"approve": True, "opinion": "同意"})


async def test_complete_invite_rate_badly_follow_up_and_see_the_reply(
        api: httpx.AsyncClient, wechat: SimControl, population: PopulationSim, sms: SmsSim, deps: Dependencies,
        demo_catalogue: object, pipeline: PipelineProcess) -> None:  # noqa: F811
    me = await bound_resident(api, wechat, population)
    estate = await department_staff(deps, api, sms, "nx_estate")
    tax = await department_staff(deps, api, sms, "nx_tax")
    case = await accepted_case(api, deps, me, estate)
    case_id, rating_path = case["id"], f"/api/v1/cases/{case['id']}/rating"

    early = await api.get(rating_path, headers=me.headers)
    assert early.status_code == 200, early.text
    assert (early.json()["rateable"], early.json()["rate_until"]) == (False, None)
    not_yet = await api.put(rating_path, json={"level": 5}, headers=me.headers)
    assert (not_yet.status_code, not_yet.json()["errcode"], not_yet.json()["state"]) == (
        409, "RATING_NOT_OPEN", "in_review")

    # -- complete: the invitation is recorded with the completion and reaches the applicant ----------------------
    await approve(api, tax, case_id)
    assert (await approve(api, estate, case_id))["state"] == "approved"
    done = await act(api, estate, f"/api/v1/staff/cases/{case_id}/complete", {"kind": "ecert"})
    assert done["state"] == "completed"
    invite = await event_of(deps, "case", case_id, "case.rating_requested")
    assert invite["data"]["case_id"] == case_id and invite["data"]["receipt_no"] == done["receipt_no"]

    async def invited() -> list[dict[str, Any]] | None:
        items = (await api.get("/api/v1/me/notifications", headers=me.headers)).json()["items"]
        return [i for i in items if i["title"] == "请评价本次服务"] or None

    [item] = await eventually(invited, what="the invitation to rate in the applicant's inbox")
    assert done["matter"]["name"] in item["body"]

    # -- rate: a 差评 needs a reason; once only ------------------------------------------------------------------
    open_now = (await api.get(rating_path, headers=me.headers)).json()
    assert open_now["rateable"] is True and open_now["rate_until"]
    no_reason = await api.put(rating_path, json={"level": 2, "tags": ["办理时间长"]}, headers=me.headers)
    assert (no_reason.status_code, no_reason.json()["errors"][0]["errcode"]) == (422, "COMMENT_REQUIRED")
    body = {"level": 2, "tags": ["办理时间长", "多次补正"], "comment": "材料一次没说清，跑了两趟"}
    rated = await api.put(rating_path, json=body, headers=me.headers)
    assert rated.status_code == 200, rated.text
    rating = rated.json()["rating"]
    assert (rating["level_label"], rating["bad"], rating["needs_follow_up"]) == ("不满意", True, True)
    replay = await api.put(rating_path, json=body, headers=me.headers)
    assert (replay.status_code, replay.json()) == (200, rated.json())
    changed = await api.put(rating_path, json={"level": 5}, headers=me.headers)
    assert (changed.status_code, changed.json()["errcode"]) == (409, "RATING_ALREADY_GIVEN")
    assert changed.json()["rating"]["id"] == rating["id"] and changed.json()["rating"]["level"] == 2

    stranger = await miniprogram_login(api, wechat)
    for method in ("GET", "PUT"):
        other = await api.request(method, rating_path, headers=stranger.headers,
                                  json=body if method == "PUT" else None)
        assert (other.status_code, other.json()["errcode"]) == (404, "RESOURCE_NOT_FOUND")
    staff_token = await api.get(rating_path, headers=estate.headers)
    assert (staff_token.status_code, staff_token.json()["errcode"]) == (403, "RESIDENT_ONLY")

    # -- the department's list; only the implementing department answers ----------------------------------------
    listed = await api.get("/api/v1/staff/ratings", params={"level": "1,2", "needs_follow_up": "true"},
                           headers=estate.headers)
    assert listed.status_code == 200, listed.text
    assert rating["id"] in [r["id"] for r in listed.json()["items"]]
    resident_list = await api.get("/api/v1/staff/ratings", headers=me.headers)
    assert (resident_list.status_code, resident_list.json()["errcode"]) == (403, "STAFF_ONLY")
    follow_up_path = f"/api/v1/staff/ratings/{rating['id']}/follow-up"
    note = {"outcome": "rectified", "note": "已电话回访致歉；指南已补充材料样表，今后一次告知"}
    foreign = await api.post(follow_up_path, json=note, headers=tax.headers)
    assert (foreign.status_code, foreign.json()["errcode"]) == (403, "FORBIDDEN")
    answered = await act(api, estate, follow_up_path, note)
    assert answered["needs_follow_up"] is False and answered["follow_up"]["staff_id"] == estate.staff_id
    assert await act(api, estate, follow_up_path, note) == answered  # a replay
    second = await api.post(follow_up_path, json={**note, "note": "另一份答复内容"}, headers=estate.headers)
    assert (second.status_code, second.json()["errcode"]) == (409, "FOLLOW_UP_ALREADY_RECORDED")

    # -- the applicant sees the department's reply (not who wrote it) -------------------------------------------
    seen = (await api.get(rating_path, headers=me.headers)).json()["rating"]["follow_up"]
    assert (seen["outcome_label"], seen["note"]) == ("已整改", note["note"])
    assert seen["department_name"] == done["matter"]["department_name"] and seen["staff_name"] is None

    summary = await api.get("/api/v1/staff/ratings/summary", headers=estate.headers)
    assert summary.status_code == 200, summary.text
    [row] = summary.json()["rows"]
    assert row["levels"]["2"] >= 1 and row["bad"] >= 1 and row["total"] == sum(row["levels"].values())
