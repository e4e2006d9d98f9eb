"""Staff WeChat login end to end over HTTP: bind after password + SMS login (the SMS delivered by the real Celery
worker, the `wx.login()` codes minted by the WeChat simulator), then log in with WeChat alone; uniqueness,
unbinding, disabled/locked/administrator accounts, residents kept out, and the audit trail."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from config.wiring import Dependencies
from tests.support.identity import miniprogram_login
from tests.support.sms import SmsSim
from tests.support.staff import StaffSession, bind_wechat, make_staff, staff_login, wechat_login
from tests.support.wechat import SimControl

pytestmark = pytest.mark.slow


def new_unionid() -> str:
    return "staff-" + secrets.token_hex(6)


async def actions(deps: Dependencies, staff_id: str) -> list[str]:
    return [a["action"] for a in await deps.staff_admin.audit.for_target(staff_id)]


async def test_bind_after_password_and_sms_then_wechat_login_gives_a_working_staff_token(
    api: httpx.AsyncClient, sms: SmsSim, wechat: SimControl, deps: Dependencies
) -> None:
    user = await make_staff(deps)
    office = await staff_login(api, sms, user)
    unionid = new_unionid()
    bound = await bind_wechat(api, wechat, office, unionid)
    assert bound.status_code == 200, bound.text
    assert bound.json()["wechat_bound"] is True and bound.json()["id"] == user.id
    again = await bind_wechat(api, wechat, office, unionid)  # a retry of the same binding changes nothing
    assert again.status_code == 200 and again.json()["wechat_bound"] is True
    doc = await deps.db["staff_accounts"].find_one({"_id": user.id})
    assert doc is not None and doc["wechat"]["unionid"] == unionid and doc["wechat"]["mp_openid"]

    login = await wechat_login(api, wechat, unionid)
    assert login.status_code == 200, login.text
    phone = StaffSession(login.json())
    assert phone.staff_id == user.id and login.json()["staff"]["roles"] == ["staff"]
    me = await api.get("/api/v1/staff/me", headers=phone.headers)
    assert me.status_code == 200 and me.json()["username"] == user.username and me.json()["wechat_bound"] is True
    session = await deps.db["login_sessions"].find_one({"person_id": user.id, "auth_method": "wechat"})
    assert session is not None and (session["kind"], session["auth_method"]) == ("staff", "wechat")
    assert session["device"] == "staff-phone"
    # a staff session in every respect: refreshed at the staff endpoint only, kept out of residents' endpoints
    rotated = await api.post("/api/v1/staff/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert rotated.status_code == 200 and rotated.json()["staff"]["id"] == user.id
    assert (await api.get("/api/v1/me", headers=phone.headers)).json()["errcode"] == "RESIDENT_ONLY"

    # the same person opening the residents' mini-program login still gets their own resident account
    resident = await miniprogram_login(api, wechat, unionid=unionid)
    assert resident.body["person"]["roles"] == ["resident"] and resident.person_id != user.id

    # a WeChat session cannot bind (nor move the binding to another WeChat): that needs password + SMS
    from_wechat = await bind_wechat(api, wechat, phone, unionid)
    assert from_wechat.status_code == 403 and from_wechat.json()["errcode"] == "STAFF_WECHAT_BIND_NEEDS_SMS"

    audit = await deps.staff_admin.audit.for_target(user.id)
    assert [a["action"] for a in audit] == ["staff_login", "staff_wechat_bound", "staff_login", "staff_created"]
    assert audit[0]["details"]["auth_method"] == "wechat" and audit[2]["details"]["auth_method"] == "password_sms"
    assert audit[1]["details"] == {"app": "mp", "unionid": True}


async def test_unbound_or_used_codes_are_refused(api: httpx.AsyncClient, wechat: SimControl) -> None:
    unbound = await wechat_login(api, wechat, new_unionid())
    assert unbound.status_code == 401 and unbound.json()["errcode"] == "STAFF_WECHAT_NOT_BOUND"
    assert "密码" in unbound.json()["errmsg"] and "短信验证码" in unbound.json()["errmsg"]
    assert "access_token" not in unbound.json()

    code = (await wechat.code("miniprogram", unionid=new_unionid()))["code"]
    await api.post("/api/v1/staff/wechat/login", json={"code": code})
    replay = await api.post("/api/v1/staff/wechat/login", json={"code": code})  # codes are single-use
    assert replay.status_code == 401 and replay.json()["errcode"] == "WECHAT_CODE_INVALID"
    empty = await api.post("/api/v1/staff/wechat/login", json={"code": ""})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "code"


async def test_one_wechat_binds_one_staff_account(
    api: httpx.AsyncClient, sms: SmsSim, wechat: SimControl, deps: Dependencies
) -> None:
    first_user, second_user = await make_staff(deps), await make_staff(deps)
    first, second = await staff_login(api, sms, first_user), await staff_login(api, sms, second_user)
    unionid = new_unionid()
    assert (await bind_wechat(api, wechat, first, unionid)).status_code == 200

    taken = await bind_wechat(api, wechat, second, unionid)
    assert taken.status_code == 409 and taken.json()["errcode"] == "STAFF_WECHAT_TAKEN"
    refused = (await deps.staff_admin.audit.for_target(second_user.id))[0]
    assert refused["action"] == "staff_wechat_bind_refused" and refused["details"]["owner_staff_id"] == first_user.id
    me = await api.get("/api/v1/staff/me", headers=second.headers)
    assert me.json()["wechat_bound"] is False

    other = await bind_wechat(api, wechat, first, new_unionid())  # never silently replaced: unbind first
    assert other.status_code == 409 and other.json()["errcode"] == "STAFF_WECHAT_ALREADY_BOUND"
    login = await wechat_login(api, wechat, unionid)
    assert login.status_code == 200 and login.json()["staff"]["id"] == first_user.id


async def test_unbinding_ends_wechat_sessions_and_wechat_login(
    api: httpx.AsyncClient, sms: SmsSim, wechat: SimControl, deps: Dependencies
) -> None:
    user = await make_staff(deps)
    office = await staff_login(api, sms, user)
    unionid = new_unionid()
    assert (await bind_wechat(api, wechat, office, unionid)).status_code == 200
    phone = StaffSession((await wechat_login(api, wechat, unionid)).json())

    unbound = await api.delete("/api/v1/staff/wechat", headers=office.headers)
    assert unbound.status_code == 200, unbound.text
    assert unbound.json()["staff"]["wechat_bound"] is False and unbound.json()["ended_sessions"] == 1
    after = await api.get("/api/v1/staff/me", headers=phone.headers)
    assert after.status_code == 401 and after.json()["errcode"] == "SESSION_REVOKED"
    assert (await api.get("/api/v1/staff/me", headers=office.headers)).status_code == 200  # password session stays

    refused = await wechat_login(api, wechat, unionid)
    assert refused.status_code == 401 and refused.json()["errcode"] == "STAFF_WECHAT_NOT_BOUND"
    repeat = await api.delete("/api/v1/staff/wechat", headers=office.headers)
    assert repeat.status_code == 200 and repeat.json()["ended_sessions"] == 0  # idempotent
    assert await actions(deps, user.id) == ["staff_wechat_unbound", "staff_login", "staff_wechat_bound",
                                            "staff_login", "staff_created"]
    assert (await bind_wechat(api, wechat, office, unionid)).status_code == 200  # and may bind again


async def test_disabled_locked_and_administrator_accounts_cannot_use_wechat(
    api: httpx.AsyncClient, sms: SmsSim, wechat: SimControl, deps: Dependencies
) -> None:
    user, unionid = await make_staff(deps), new_unionid()
    assert (await bind_wechat(api, wechat, await staff_login(api, sms, user), unionid)).status_code == 200

    locked_until = datetime.now(UTC) + timedelta(minutes=10)  # as five wrong passwords would leave it
    await deps.db["staff_accounts"].update_one({"_id": user.id}, {"$set": {"locked_until": locked_until}})
    locked = await wechat_login(api, wechat, unionid)
    assert locked.status_code == 429 and locked.json()["errcode"] == "STAFF_LOGIN_LOCKED"
    assert 0 < int(locked.headers["Retry-After"]) <= 600
    await deps.db["staff_accounts"].update_one({"_id": user.id}, {"$set": {"locked_until": None}})
    assert (await wechat_login(api, wechat, unionid)).status_code == 200

    admin = await make_staff(deps, roles=("sysadmin",), region_code="430100", level="city")
    await deps.staff_admin.disable(admin.account.actor(), user.id)  # type: ignore[union-attr]
    disabled = await wechat_login(api, wechat, unionid)
    assert disabled.status_code == 403 and disabled.json()["errcode"] == "ACCOUNT_DISABLED"
    audit = await deps.staff_admin.audit.for_target(user.id)
    refusals = [a["details"]["reason"] for a in audit if a["action"] == "staff_wechat_login_refused"]
    assert refusals == ["ACCOUNT_DISABLED", "STAFF_LOGIN_LOCKED"]

    admin_session = await staff_login(api, sms, admin)
    not_for_admins = await bind_wechat(api, wechat, admin_session, new_unionid())
    assert not_for_admins.status_code == 403 and not_for_admins.json()["errcode"] == "STAFF_WECHAT_NOT_ALLOWED"


async def test_a_resident_token_cannot_bind_or_unbind(api: httpx.AsyncClient, wechat: SimControl) -> None:
    resident = await miniprogram_login(api, wechat)
    bind = await bind_wechat(api, wechat, resident.headers, new_unionid())
    assert bind.status_code == 403 and bind.json()["errcode"] == "STAFF_ONLY"
    unbind = await api.delete("/api/v1/staff/wechat", headers=resident.headers)
    assert unbind.status_code == 403 and unbind.json()["errcode"] == "STAFF_ONLY"
    anonymous = await api.post("/api/v1/staff/wechat/bind", json={"code": "x"})
    assert anonymous.status_code == 401 and anonymous.json()["errcode"] == "UNAUTHORIZED"
