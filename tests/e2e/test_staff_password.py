"""The forced password change end to end over HTTP: an account with an initial password may only read itself,
change the password and log out; the change follows the password policy, counts wrong old passwords towards the
lockout, ends the account's other sessions and keeps the current one."""

from __future__ import annotations

import secrets

import httpx
import pytest

from config.wiring import Dependencies
from tests.support.sms import SmsSim, lift_cooldown
from tests.support.staff import PASSWORD, StaffSession, bind_wechat, make_staff, staff_login, wechat_login
from tests.support.wechat import SimControl

pytestmark = pytest.mark.slow
NEW_PASSWORD = "Xiangjiang-2025#"


async def change(api: httpx.AsyncClient, session: StaffSession, old: str, new: str) -> httpx.Response:
    return await api.post("/api/v1/staff/password", json={"old_password": old, "new_password": new},
                          headers=session.headers)


async def test_an_initial_password_must_be_changed_before_anything_else(
    api: httpx.AsyncClient, sms: SmsSim, wechat: SimControl, deps: Dependencies
) -> None:
    user = await make_staff(deps, roles=("staff", "dept_admin"), must_change_password=True)
    session = await staff_login(api, sms, user, change_password=False)
    assert session.body["staff"]["must_change_password"] is True

    me = await api.get("/api/v1/staff/me", headers=session.headers)
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    for method, path, body in (("GET", "/api/v1/admin/staff", None), ("GET", "/api/v1/me/sessions", None),
                               ("POST", "/api/v1/admin/matters", {}), ("DELETE", "/api/v1/staff/wechat", None),
                               ("POST", "/api/v1/admin/staff", {})):
        response = await api.request(method, path, json=body, headers=session.headers)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["errcode"] == "PASSWORD_CHANGE_REQUIRED", path
    bind = await bind_wechat(api, wechat, session, "staff-" + secrets.token_hex(4))
    assert bind.json()["errcode"] == "PASSWORD_CHANGE_REQUIRED"

    wrong = await change(api, session, "Not-the-password-1", NEW_PASSWORD)
    assert wrong.status_code == 422 and wrong.json()["errcode"] == "STAFF_OLD_PASSWORD_WRONG"
    assert [e["field"] for e in wrong.json()["errors"]] == ["old_password"]
    for weak, rules in (("1234567890", ["PASSWORD_ALL_DIGITS"]), ("short", ["PASSWORD_TOO_SHORT"]),
                        (f"{user.username}-2025", ["PASSWORD_CONTAINS_USERNAME"]), (PASSWORD, ["PASSWORD_UNCHANGED"])):
        refused = await change(api, session, PASSWORD, weak)
        assert refused.status_code == 422 and refused.json()["errcode"] == "PASSWORD_TOO_WEAK", weak
        assert [(e["field"], e["errcode"]) for e in refused.json()["errors"]] == [("new_password", r) for r in rules]
    missing = await api.post("/api/v1/staff/password", json={"old_password": PASSWORD}, headers=session.headers)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "new_password"

    changed = await change(api, session, PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 200, changed.text
    assert changed.json()["staff"]["must_change_password"] is False and changed.json()["ended_sessions"] == 0
    listed = await api.get("/api/v1/admin/staff", headers=session.headers)  # the same token, now unrestricted
    assert listed.status_code == 200
    assert (await api.get("/api/v1/me/sessions", headers=session.headers)).status_code == 200

    old = await api.post("/api/v1/staff/login", json={"username": user.username, "password": PASSWORD})
    assert old.status_code == 401 and old.json()["errcode"] == "STAFF_LOGIN_FAILED"
    await lift_cooldown(deps.redis, deps.settings, user.phone_e164)  # the login SMS went out seconds ago
    new = await api.post("/api/v1/staff/login", json={"username": user.username, "password": NEW_PASSWORD})
    assert new.status_code == 202, new.text
    audit = (await deps.staff_admin.audit.for_target(user.id))[0]
    assert audit["action"] == "staff_password_changed" and audit["details"] == {"was_initial": True,
                                                                                "ended_sessions": 0}
    doc = await deps.db["staff_accounts"].find_one({"_id": user.id})
    assert doc is not None and NEW_PASSWORD not in str(doc) and doc["password"]["hash"].startswith("$argon2id$")


async def test_logging_out_is_allowed_before_the_change(
    api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies
) -> None:
    user = await make_staff(deps, must_change_password=True)
    session = await staff_login(api, sms, user, change_password=False)
    out = await api.post("/api/v1/auth/logout", headers=session.headers)
    assert out.status_code == 200 and out.json()["ended_sessions"] == 1
    assert (await api.get("/api/v1/staff/me", headers=session.headers)).json()["errcode"] == "SESSION_REVOKED"


async def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(
    api: httpx.AsyncClient, sms: SmsSim, wechat: SimControl, deps: Dependencies
) -> None:
    user, unionid = await make_staff(deps), "staff-" + secrets.token_hex(4)
    office = await staff_login(api, sms, user, device="office-pc")
    await lift_cooldown(deps.redis, deps.settings, user.phone_e164)
    laptop = await staff_login(api, sms, user, device="laptop", sms_count=2)
    assert (await bind_wechat(api, wechat, office, unionid)).status_code == 200
    phone = StaffSession((await wechat_login(api, wechat, unionid)).json())

    changed = await change(api, office, PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 200 and changed.json()["ended_sessions"] == 2
    for other in (laptop, phone):
        ended = await api.get("/api/v1/staff/me", headers=other.headers)
        assert ended.status_code == 401 and ended.json()["errcode"] == "SESSION_REVOKED"
        refresh = await api.post("/api/v1/staff/refresh", json={"refresh_token": other.body["refresh_token"]})
        assert refresh.status_code == 401
    assert (await api.get("/api/v1/staff/me", headers=office.headers)).status_code == 200
    rotated = await api.post("/api/v1/staff/refresh", json={"refresh_token": office.body["refresh_token"]})
    assert rotated.status_code == 200
    assert (await wechat_login(api, wechat, unionid)).status_code == 200  # the binding itself stays


async def test_wrong_old_passwords_count_towards_the_lockout(
    api: httpx.AsyncClient, sms: SmsSim, deps: Dependencies
) -> None:
    user = await make_staff(deps)
    session = await staff_login(api, sms, user)
    codes = [(await change(api, session, f"Guess-number-{n}", NEW_PASSWORD)).json()["errcode"] for n in range(5)]
    assert codes == ["STAFF_OLD_PASSWORD_WRONG"] * 4 + ["STAFF_LOGIN_LOCKED"]
    right_but_locked = await change(api, session, PASSWORD, NEW_PASSWORD)
    assert right_but_locked.status_code == 429 and right_but_locked.headers["Retry-After"]
    login = await api.post("/api/v1/staff/login", json={"username": user.username, "password": PASSWORD})
    assert login.status_code == 429 and login.json()["errcode"] == "STAFF_LOGIN_LOCKED"
    assert (await deps.staff_admin.audit.for_target(user.id))[0]["action"] == "staff_locked_out"
