"""SMS-code login end to end: the API queues the code, a real Celery worker sends it through the Aliyun SDK to the
simulator, the test reads it from the phone's inbox (`/_sim/sms/messages`) and logs in over HTTP."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from config.settings import Settings
from config.wiring import Dependencies
from core.masking import find_unmasked
from tests.support.identity import LoggedIn, miniprogram_login
from tests.support.sms import SmsSim, lift_cooldown, random_phone
from tests.support.wechat import SimControl
from tests.support.worker import CeleryWorker

pytestmark = pytest.mark.slow


async def request_code(api: httpx.AsyncClient, sms: SmsSim, phone: str, *, path: str = "/api/v1/auth/sms/code",
                       headers: dict[str, str] | None = None, count: int = 1) -> str:
    """Ask for a code as the app does, then read it on the phone (the worker delivers it to the simulator)."""
    response = await api.post(path, json={"phone": phone}, headers=headers or {})
    assert response.status_code == 202, response.text
    assert response.json() == {"resend_after_s": 60, "expires_in_s": 300}
    return (await sms.wait_for_message(phone, count=count))["params"]["code"]


async def sms_login(api: httpx.AsyncClient, phone: str, code: str) -> httpx.Response:
    return await api.post("/api/v1/auth/sms/login", json={"phone": phone, "code": code},
                          headers={"X-Device-Name": "Android"})


async def test_demo_person_logs_in_by_sms(api: httpx.AsyncClient, sms: SmsSim, simulators: str, deps: Dependencies,
                                          settings: Settings, celery_worker: CeleryWorker) -> None:
    async with httpx.AsyncClient(base_url=simulators) as client:
        people = (await client.get("/_sim/population/people")).json()["people"]
    phone = next(p["phone_for_testing"] for p in people if p["key"] == "chen-zhiqiang")  # 13800000003
    await lift_cooldown(deps.redis, settings, "+86" + phone)

    code = await request_code(api, sms, phone)
    [message] = await sms.messages(phone)
    assert message["text"] == f"【掌上办】您的验证码为{code}，5分钟内有效，请勿泄露于他人。如非本人操作，请忽略本短信。"
    first = await sms_login(api, phone, code)
    assert first.status_code == 200, first.text
    assert first.json()["new_account"] is True
    me = LoggedIn(first.json())
    profile = (await api.get("/api/v1/me", headers=me.headers)).json()
    assert profile["phone"] == "138****0003" and profile["level"] == "L1"
    assert profile["wechat_miniprogram"] is False and profile["citizen_id"] is None

    replay = await sms_login(api, phone, code)
    assert replay.status_code == 422 and replay.json()["errcode"] == "SMS_CODE_EXPIRED"  # one-time

    await lift_cooldown(deps.redis, settings, "+86" + phone)
    again = await sms_login(api, "+86 138 0000 0003", await request_code(api, sms, phone, count=2))
    assert again.status_code == 200 and again.json()["new_account"] is False
    assert again.json()["person"]["id"] == me.person_id

    log = celery_worker.log_text()
    assert '"event": "sms_code_sent"' in log
    assert find_unmasked(log) == [] and code not in log  # the worker's log holds neither in clear


async def test_wrong_code_five_times_burns_it(api: httpx.AsyncClient, sms: SmsSim) -> None:
    phone = random_phone()
    code = await request_code(api, sms, phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [(await sms_login(api, phone, wrong)).json() for _ in range(5)]
    assert [a["errcode"] for a in answers] == ["SMS_CODE_INVALID"] * 4 + ["SMS_CODE_TOO_MANY_TRIES"]
    assert [a.get("remaining_tries") for a in answers[:4]] == [4, 3, 2, 1]
    burned = await sms_login(api, phone, code)
    assert burned.status_code == 422 and burned.json()["errcode"] == "SMS_CODE_EXPIRED"


async def test_resend_too_soon_and_bad_numbers(api: httpx.AsyncClient, sms: SmsSim) -> None:
    phone = random_phone()
    await request_code(api, sms, phone)
    again = await api.post("/api/v1/auth/sms/code", json={"phone": phone})
    assert again.status_code == 429 and again.json()["errcode"] == "SMS_RESEND_TOO_SOON"
    assert 55 <= int(again.headers["Retry-After"]) <= 60 and again.json()["retry_after_s"] <= 60
    landline = await api.post("/api/v1/auth/sms/code", json={"phone": "010-12345678"})
    assert landline.status_code == 422 and landline.json()["errcode"] == "PHONE_INVALID"
    assert landline.json()["errors"][0] == {"field": "phone", "errcode": "PHONE_NOT_MOBILE",
                                            "errmsg": landline.json()["errmsg"]}


async def test_throttled_send_is_retried_and_permanent_failure_is_not(
    api: httpx.AsyncClient, sms: SmsSim, celery_worker: CeleryWorker
) -> None:
    await sms.fault(code="isv.BUSINESS_LIMIT_CONTROL", times=1)
    phone = random_phone()
    await request_code(api, sms, phone)  # delivered by the retry
    assert (await sms.stats())["answered"] == {"isv.BUSINESS_LIMIT_CONTROL": 1, "OK": 1}

    await sms.fault(code="isv.AMOUNT_NOT_ENOUGH", times=1)
    unlucky = random_phone()
    assert (await api.post("/api/v1/auth/sms/code", json={"phone": unlucky})).status_code == 202
    deadline = time.monotonic() + 20
    while (await sms.stats())["answered"].get("isv.AMOUNT_NOT_ENOUGH") != 1:
        assert time.monotonic() < deadline, celery_worker.log_text()[-3000:]
        await asyncio.sleep(0.1)
    while '"code": "isv.AMOUNT_NOT_ENOUGH"' not in celery_worker.log_text():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert '"event": "sms_code_not_sent"' in celery_worker.log_text()
    assert await sms.messages(unlucky) == []  # given up at once: a retry would have been delivered


async def test_verify_my_phone_on_a_wechat_account(api: httpx.AsyncClient, sms: SmsSim, wechat: SimControl,
                                                   deps: Dependencies) -> None:
    me = await miniprogram_login(api, wechat)
    assert me.body["person"]["level"] == "L0"
    phone = random_phone()
    code = await request_code(api, sms, phone, path="/api/v1/me/phone/code", headers=me.headers)
    wrong_purpose = await sms_login(api, phone, code)  # a binding code is no login code
    assert wrong_purpose.json()["errcode"] == "SMS_CODE_EXPIRED"
    bound = await api.put("/api/v1/me/phone", json={"phone": phone, "code": code}, headers=me.headers)
    assert bound.status_code == 200, bound.text
    masked = phone[3:6] + "****" + phone[-4:]
    assert bound.json()["level"] == "L1" and bound.json()["phone"] == masked
    assert bound.json()["id"] == me.person_id

    await lift_cooldown(deps.redis, deps.settings, phone)
    login = await sms_login(api, phone, await request_code(api, sms, phone, count=2))
    assert login.json()["person"]["id"] == me.person_id and login.json()["new_account"] is False

    intruder = await miniprogram_login(api, wechat)
    await lift_cooldown(deps.redis, deps.settings, phone)
    code = await request_code(api, sms, phone, path="/api/v1/me/phone/code", headers=intruder.headers, count=3)
    taken = await api.put("/api/v1/me/phone", json={"phone": phone, "code": code}, headers=intruder.headers)
    assert taken.status_code == 409 and taken.json()["errcode"] == "PHONE_TAKEN"
    events = await deps.binding.events.recent(me.person_id)
    warning = next(e for e in events if e["type"] == "phone_bind_attempt_by_other")
    assert warning["notify"] is True and warning["details"]["other_person_id"] == intruder.person_id
    assert phone[3:] not in str(warning)


async def test_sms_login_never_merges_into_a_wechat_only_account(api: httpx.AsyncClient, sms: SmsSim,
                                                                 wechat: SimControl) -> None:
    wechat_person = await miniprogram_login(api, wechat)
    phone = random_phone()
    login = await sms_login(api, phone, await request_code(api, sms, phone))
    assert login.json()["new_account"] is True and login.json()["person"]["id"] != wechat_person.person_id
    assert login.json()["person"]["level"] == "L1"
