"""Staff end to end over HTTP: an admin creates staff, staff sign in with password + SMS code (delivered by the
real Celery worker to the SMS simulator), department and region scopes hold, disabling cuts access at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from config.wiring import Dependencies
from devstack.demo_seed import seed_demo_staff
from devstack.demo_staff_login import login as demo_staff_login
from tests.support.identity import miniprogram_login
from tests.support.sms import SmsSim, random_phone
from tests.support.staff import PASSWORD, StaffSession, StaffUser, make_staff, new_username, staff_login
from tests.support.wechat import SimControl

pytestmark = pytest.mark.slow


@pytest.fixture
async def sysadmin(deps: Dependencies, api: httpx.AsyncClient, sms: SmsSim) -> StaffSession:
    user = await make_staff(deps, roles=("sysadmin",), department_id="it", department_name="大数据中心",
                            region_code="430100", level="city")
    return await staff_login(api, sms, user)


def new_staff_body(**fields: Any) -> dict[str, Any]:
    body = {"username": new_username("n"), "display_name": "新同事", "mobile": random_phone(),
            "department_id": "zwzx", "department_name": "宁乡市政务服务中心", "region_code": "430124",
            "level": "district", "roles": ["staff"], "initial_password": PASSWORD}
    return body | fields


async def create(api: httpx.AsyncClient, admin: StaffSession, **fields: Any) -> tuple[httpx.Response, StaffUser]:
    body = new_staff_body(**fields)
    response = await api.post("/api/v1/admin/staff", json=body, headers=admin.headers)
    return response, StaffUser(body["username"], body["initial_password"], body["mobile"])


async def test_admin_creates_staff_who_signs_in_with_password_and_sms(
    api: httpx.AsyncClient, sms: SmsSim, sysadmin: StaffSession, deps: Dependencies
) -> None:
    response, user = await create(api, sysadmin, display_name="刘建国", roles=["dept_admin"])
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["phone"] == user.phone_e164[3:6] + "****" + user.phone_e164[-4:]
    assert created["roles"] == ["dept_admin"] and created["must_change_password"] is True
    assert user.phone_e164[3:] not in response.text

    retried = await api.post("/api/v1/admin/staff", json=new_staff_body(username=user.username),
                             headers=sysadmin.headers)
    assert retried.status_code == 409 and retried.json()["errcode"] == "STAFF_USERNAME_TAKEN"

    start = await api.post("/api/v1/staff/login", json={"username": user.username.upper(), "password": PASSWORD})
    assert start.status_code == 202, start.text
    assert start.json()["phone_masked"] == created["phone"] and start.json()["resend_after_s"] == 60
    code = (await sms.wait_for_message(user.phone_e164))["params"]["code"]
    wrong = "000000" if code != "000000" else "111111"
    bad = await api.post("/api/v1/staff/login/verify", json={"ticket": start.json()["ticket"], "code": wrong})
    assert bad.status_code == 422 and bad.json()["errcode"] == "SMS_CODE_INVALID"
    ok = await api.post("/api/v1/staff/login/verify", json={"ticket": start.json()["ticket"], "code": code})
    assert ok.status_code == 200, ok.text
    session = StaffSession(ok.json())
    assert session.body["staff"]["id"] == created["id"] and session.body["staff"]["roles"] == ["dept_admin"]
    replay = await api.post("/api/v1/staff/login/verify", json={"ticket": start.json()["ticket"], "code": code})
    assert replay.status_code == 401 and replay.json()["errcode"] == "STAFF_LOGIN_TICKET_INVALID"

    me = await api.get("/api/v1/staff/me", headers=session.headers)
    assert me.status_code == 200 and me.json()["username"] == user.username and me.json()["last_login_at"]
    audit = await deps.staff_admin.audit.for_target(created["id"])  # latest first
    assert [a["action"] for a in audit] == ["staff_login", "staff_created"]
    assert audit[1]["actor_staff_id"] == sysadmin.staff_id
    assert audit[0]["details"]["auth_method"] == "password_sms" and audit[0]["actor_staff_id"] == created["id"]


async def test_wrong_password_is_generic_and_refresh_is_staff_only(
    api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies, wechat: SimControl
) -> None:
    user = await make_staff(deps)
    for username in (user.username, new_username("nobody")):
        refused = await api.post("/api/v1/staff/login", json={"username": username, "password": "Wrong-pass-123"})
        assert refused.status_code == 401
        assert refused.json()["errcode"] == "STAFF_LOGIN_FAILED" and refused.json()["errmsg"] == "用户名或密码错误"

    session = await staff_login(api, sms, user)
    rotated = await api.post("/api/v1/staff/refresh", json={"refresh_token": session.body["refresh_token"]})
    assert rotated.status_code == 200 and rotated.json()["staff"]["id"] == user.id
    resident = await miniprogram_login(api, wechat)
    wrong_door = await api.post("/api/v1/staff/refresh", json={"refresh_token": resident.body["refresh_token"]})
    assert wrong_door.status_code == 401 and wrong_door.json()["errcode"] == "TOKEN_INVALID"
    # refused before rotation: the resident's refresh token still works where it belongs
    assert (await api.post("/api/v1/auth/refresh",
                           json={"refresh_token": resident.body["refresh_token"]})).status_code == 200
    # the other way round is refused the same way, untouched: no resident tokens for a staff subject, and the
    # staff session goes on
    misused = await api.post("/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]})
    assert misused.status_code == 401 and misused.json()["errcode"] == "TOKEN_INVALID"
    assert "access_token" not in misused.json()
    assert (await api.get("/api/v1/staff/me", headers=StaffSession(rotated.json()).headers)).status_code == 200
    assert (await api.post("/api/v1/staff/refresh",
                           json={"refresh_token": rotated.json()["refresh_token"]})).status_code == 200


async def test_staff_and_resident_tokens_stay_in_their_lanes(
    api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies, wechat: SimControl
) -> None:
    staff = await staff_login(api, sms, await make_staff(deps))
    for method, path, body in (("GET", "/api/v1/me", None),
                               ("PUT", "/api/v1/me/citizen-id", {"name": "刘建国", "id_number": "refused-before-parsing"})):
        response = await api.request(method, path, json=body, headers=staff.headers)
        assert response.status_code == 403 and response.json()["errcode"] == "RESIDENT_ONLY", response.text
    assert (await api.get("/api/v1/me/sessions", headers=staff.headers)).status_code == 200  # own devices: fine

    resident = await miniprogram_login(api, wechat)
    for method, path in (("GET", "/api/v1/staff/me"), ("GET", "/api/v1/admin/staff")):
        response = await api.request(method, path, headers=resident.headers)
        assert response.status_code == 403 and response.json()["errcode"] == "STAFF_ONLY"
    response = await api.post("/api/v1/admin/staff/01ARZ3NDEKTSV4RRFFQ69G5FAV/disable", headers=resident.headers)
    assert response.json()["errcode"] == "STAFF_ONLY"


async def test_department_and_region_scopes(api: httpx.AsyncClient, sms: SmsSim, sysadmin: StaffSession) -> None:
    made, admin_user = await create(api, sysadmin, roles=["dept_admin"])  # zwzx @ 宁乡 430124
    assert made.status_code == 201, made.text
    admin = await staff_login(api, sms, admin_user)
    town_clerk = (await create(api, admin, region_code="430124101", level="town"))[0]
    assert town_clerk.status_code == 201, town_clerk.text  # below the admin's region, own department
    other_dept = (await create(api, sysadmin, department_id="jyj", department_name="宁乡市教育局"))[0]
    other_county = (await create(api, sysadmin, region_code="430102"))[0]  # zwzx of 芙蓉区
    city_level = (await create(api, sysadmin, region_code="430100", level="city"))[0]  # zwzx of 长沙市

    for fields in ({"department_id": "jyj"}, {"region_code": "430102"}, {"region_code": "430100", "level": "city"},
                   {"roles": ["dept_admin"]}, {"roles": ["supervisor"]}):
        refused = (await create(api, admin, **fields))[0]
        assert refused.status_code == 403 and refused.json()["errcode"] == "FORBIDDEN", (fields, refused.text)

    for target in (other_dept, other_county, city_level):  # staff of department A cannot touch B's, nor above
        response = await api.post(f"/api/v1/admin/staff/{target.json()['id']}/disable", headers=admin.headers)
        assert response.status_code == 403 and response.json()["errcode"] == "FORBIDDEN"
    missing = await api.post("/api/v1/admin/staff/01ARZ3NDEKTSV4RRFFQ69G5FAV/disable", headers=admin.headers)
    assert missing.status_code == 404 and missing.json()["errcode"] == "STAFF_NOT_FOUND"

    listed = (await api.get("/api/v1/admin/staff", headers=admin.headers)).json()["staff"]
    ids = {s["id"] for s in listed}
    assert {made.json()["id"], town_clerk.json()["id"]} <= ids
    assert not ids & {other_dept.json()["id"], other_county.json()["id"], city_level.json()["id"]}
    assert all(s["department_id"] == "zwzx" and s["region_code"].startswith("430124") for s in listed)
    everyone = (await api.get("/api/v1/admin/staff?limit=100", headers=sysadmin.headers)).json()
    assert len(everyone["staff"]) > len(listed)
    paged = (await api.get("/api/v1/admin/staff?limit=1", headers=sysadmin.headers)).json()
    assert len(paged["staff"]) == 1 and paged["next_after"] == paged["staff"][0]["id"]
    bad = await api.get("/api/v1/admin/staff?limit=0&after=x", headers=sysadmin.headers)
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"limit", "after"}

    clerk_id = town_clerk.json()["id"]
    promoted = await api.put(f"/api/v1/admin/staff/{clerk_id}/roles", json={"roles": ["dept_admin"]},
                             headers=admin.headers)
    assert promoted.status_code == 403
    widened = await api.put(f"/api/v1/admin/staff/{clerk_id}/roles", json={"roles": ["staff", "school_finance"]},
                            headers=admin.headers)
    assert widened.status_code == 200 and widened.json()["roles"] == ["school_finance", "staff"]
    own = await api.put(f"/api/v1/admin/staff/{admin.staff_id}/roles", json={"roles": ["staff"]},
                        headers=admin.headers)
    assert own.status_code == 403  # nobody changes their own roles


async def test_disabling_staff_cuts_their_token_at_once(
    api: httpx.AsyncClient, sms: SmsSim, sysadmin: StaffSession, deps: Dependencies
) -> None:
    made, admin_user = await create(api, sysadmin, roles=["dept_admin"])
    admin = await staff_login(api, sms, admin_user)
    clerk_made, clerk_user = await create(api, admin)
    clerk = await staff_login(api, sms, clerk_user)
    assert (await api.get("/api/v1/staff/me", headers=clerk.headers)).status_code == 200
    assert (await api.get("/api/v1/admin/staff", headers=clerk.headers)).status_code == 403  # plain staff

    refused = await api.post(f"/api/v1/admin/staff/{admin.staff_id}/disable", headers=clerk.headers)
    assert refused.status_code == 403
    disabled = await api.post(f"/api/v1/admin/staff/{clerk.staff_id}/disable", headers=admin.headers)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["ended_sessions"] == 1 and disabled.json()["staff"]["disabled"] is True

    after = await api.get("/api/v1/staff/me", headers=clerk.headers)
    assert after.status_code == 401 and after.json()["errcode"] == "SESSION_REVOKED"
    refresh = await api.post("/api/v1/staff/refresh", json={"refresh_token": clerk.body["refresh_token"]})
    assert refresh.status_code == 401
    again = await api.post("/api/v1/staff/login", json={"username": clerk_user.username,
                                                         "password": clerk_user.password})
    assert again.status_code == 403 and again.json()["errcode"] == "ACCOUNT_DISABLED"

    repeat = await api.post(f"/api/v1/admin/staff/{clerk.staff_id}/disable", headers=admin.headers)
    assert repeat.status_code == 200 and repeat.json()["ended_sessions"] == 0  # idempotent
    actions = [a["action"] for a in await deps.staff_admin.audit.for_target(clerk.staff_id)]
    # one record per change, none for the retry (the login and the forced password change came before)
    assert actions == ["staff_disabled", "staff_password_changed", "staff_login", "staff_created"]


async def test_demo_staff_login_helper(
    api_server: tuple[object, str], simulators: str, sms: SmsSim, deps: Dependencies
) -> None:
    """What docs/simulators.md shows: `python -m devstack.demo_staff_login liujianguo` signs in both steps."""
    await seed_demo_staff(deps.staff_admin)
    tokens = await asyncio.to_thread(demo_staff_login, "liujianguo", api_server[1], simulators)
    assert tokens["staff"]["display_name"] == "刘建国" and tokens["staff"]["roles"] == ["staff"]  # type: ignore[index]
    async with httpx.AsyncClient(base_url=api_server[1]) as client:
        me = await client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["department_name"] == "宁乡市公安局"
