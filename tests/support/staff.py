"""Helpers for staff tests: make staff accounts directly through the service, and sign in over HTTP with
password + SMS code read from the SMS simulator (delivered by the real Celery worker), changing an initial
password first as the staff app would; bind WeChat and log in with it through the WeChat simulator."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from accounts.phone import parse_cn_mobile
from accounts.staff import NewStaff, StaffAccount
from config.wiring import Dependencies
from tests.support.sms import SmsSim, random_phone
from tests.support.wechat import SimControl

PASSWORD = "Test-password-2024"
CHANGED_PASSWORD = "Changed-password-2025"


@dataclass
class StaffUser:
    """What the staff member knows (username, password) and holds (the phone); `account` when made directly."""

    username: str
    password: str
    phone_e164: str
    account: StaffAccount | None = None

    @property
    def id(self) -> str:
        assert self.account is not None
        return self.account.id


@dataclass
class StaffSession:
    body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.body['access_token']}"}

    @property
    def staff_id(self) -> str:
        return self.body["staff"]["id"]


def new_username(prefix: str = "t") -> str:
    return f"{prefix}{secrets.token_hex(5)}"


async def make_staff(deps: Dependencies, *, roles: tuple[str, ...] = ("staff",), department_id: str = "zwzx",
                     department_name: str = "宁乡市政务服务中心", region_code: str = "430124",
                     level: str = "district", password: str = PASSWORD, username: str | None = None,
                     must_change_password: bool = False) -> StaffUser:
    """A fresh staff account (random username and phone, so tests never collide), created as the system. It is
    ready to work (no forced password change) unless `must_change_password`."""
    name, phone = username or new_username(), random_phone()
    account = await deps.staff_admin.create_as_system(
        NewStaff(username=name, display_name="测试员", mobile=parse_cn_mobile(phone), department_id=department_id,
                 department_name=department_name, region_code=region_code, level=level, roles=roles),
        initial_password=password, must_change_password=must_change_password,
    )
    return StaffUser(name, password, phone, account)


async def staff_login(api: httpx.AsyncClient, sms: SmsSim, user: StaffUser, *, device: str = "office-pc",
                      sms_count: int = 1, change_password: bool = True) -> StaffSession:
    """Both steps over HTTP; the code is read from the phone's inbox in the SMS simulator. An account that must
    change its initial password changes it to CHANGED_PASSWORD (`user.password` follows) unless told not to."""
    start = await api.post("/api/v1/staff/login", json={"username": user.username, "password": user.password})
    assert start.status_code == 202, start.text
    message = await sms.wait_for_message(user.phone_e164, count=sms_count)
    verified = await api.post("/api/v1/staff/login/verify",
                              json={"ticket": start.json()["ticket"], "code": message["params"]["code"]},
                              headers={"X-Device-Name": device})
    assert verified.status_code == 200, verified.text
    session = StaffSession(verified.json())
    if change_password and session.body["staff"]["must_change_password"]:
        changed = await api.post("/api/v1/staff/password", headers=session.headers,
                                 json={"old_password": user.password, "new_password": CHANGED_PASSWORD})
        assert changed.status_code == 200, changed.text
        user.password = CHANGED_PASSWORD
        session.body["staff"] = changed.json()["staff"]
    return session


async def staff_wechat_code(wechat: SimControl, unionid: str) -> str:
    """`wx.login()` in the mini-program on the staff member's phone: a one-time code for this WeChat user."""
    return (await wechat.code("miniprogram", unionid=unionid))["code"]


async def bind_wechat(api: httpx.AsyncClient, wechat: SimControl, session: StaffSession | dict[str, str],
                      unionid: str) -> httpx.Response:
    headers = session.headers if isinstance(session, StaffSession) else session
    return await api.post("/api/v1/staff/wechat/bind", json={"code": await staff_wechat_code(wechat, unionid)},
                          headers=headers)


async def wechat_login(api: httpx.AsyncClient, wechat: SimControl, unionid: str, *,
                       device: str = "staff-phone") -> httpx.Response:
    return await api.post("/api/v1/staff/wechat/login", json={"code": await staff_wechat_code(wechat, unionid)},
                          headers={"X-Device-Name": device})
