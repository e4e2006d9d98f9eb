"""The Tencent Cloud SMS adapter (official SDK, TC3 signatures) against the simulator: what is sent, and how every
refusal maps onto temporary (retry, or fail over) or permanent (give up) failures.

The SDK is blocking and the simulator runs on this test's event loop, so each send runs in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from config.settings import Settings
from notifications.channels.sms import LOGIN_CODE, SmsMessage, SmsPermanentError, SmsResult, SmsTemporaryError
from notifications.channels.tencent_sms import TencentSms
from tests.support.sms import SmsSim, fresh_sms_sim, random_phone


@pytest.fixture
async def sms(simulators: str) -> AsyncIterator[SmsSim]:
    async with fresh_sms_sim(simulators, "/_sim/sms-tencent") as sim:
        yield sim


async def send(settings: Settings, message: SmsMessage, **overrides: object) -> SmsResult:
    adapter = TencentSms.from_settings(settings.model_copy(update=overrides) if overrides else settings)
    return await asyncio.to_thread(adapter.send, message)


def login_code(phone: str, code: str = "135790") -> SmsMessage:
    return SmsMessage(phone, LOGIN_CODE, {"code": code}, reference="ref-" + code)


async def test_a_signed_send_is_delivered_to_the_phone(settings: Settings, sms: SmsSim) -> None:
    phone = random_phone()
    result = await send(settings, login_code(phone))
    assert result.provider == "tencent" and ":" in result.biz_id and result.request_id
    [message] = await sms.messages(phone)
    assert message["serial_no"] == result.biz_id and message["params"] == ["135790"]
    assert message["template_id"] == "1000001" and message["session_context"] == "ref-135790"
    assert message["text"] == "【掌上办】您的验证码为135790，5分钟内有效，请勿泄露于他人。如非本人操作，请忽略本短信。"
    assert await sms.messages(phone.removeprefix("+86")) == [message]


async def test_positional_parameters_follow_the_configured_order(settings: Settings, sms: SmsSim) -> None:
    await sms.add_template(template_id="2460101", text="您申请的{1}已受理，办件编号{2}，承诺{3}前办结。")
    templates = {**settings.sms_tencent_templates, "case.accepted": "2460101:matter,case_no,due"}
    phone = random_phone()
    params = {"due": "2026年12月10日", "case_no": "ZSB20261125000123", "matter": "出生医学证明首次签发"}
    await send(settings, SmsMessage(phone, "case.accepted", params), sms_tencent_templates=templates)
    [message] = await sms.messages(phone)
    assert message["text"] == "【掌上办】您申请的出生医学证明首次签发已受理，办件编号ZSB20261125000123，承诺2026年12月10日前办结。"
    with pytest.raises(SmsPermanentError) as missing:
        await send(settings, SmsMessage(phone, "case.accepted", {"matter": "x"}), sms_tencent_templates=templates)
    assert missing.value.code == "MISSING_PARAMETERS"
    with pytest.raises(SmsPermanentError) as unknown:
        await send(settings, SmsMessage(phone, "no.such.topic", {}))
    assert unknown.value.code == "UNKNOWN_TEMPLATE"


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("LimitExceeded.PhoneNumberDailyLimit", SmsTemporaryError),  # per number, inside a 200 answer
        ("LimitExceeded.PhoneNumberThirtySecondLimit", SmsTemporaryError),
        ("InternalError.Timeout", SmsTemporaryError),  # the whole request, Response.Error
        ("FailedOperation.InsufficientBalanceInSmsPackage", SmsPermanentError),
    ],
)
async def test_provider_codes_are_mapped(settings: Settings, sms: SmsSim, code: str, error: type[Exception]) -> None:
    await sms.fault(code=code)
    with pytest.raises(error) as caught:
        await send(settings, login_code(random_phone()))
    assert caught.value.code == code and caught.value.provider == "tencent"


async def test_the_simulator_applies_the_real_rules(settings: Settings, sms: SmsSim) -> None:
    with pytest.raises(SmsPermanentError) as number:
        await send(settings, login_code("+861380000"))
    assert number.value.code == "InvalidParameterValue.IncorrectPhoneNumber"
    cases = [
        ({"sms_tencent_templates": {"login_code": "9999999:code"}}, "FailedOperation.TemplateIncorrectOrUnapproved"),
        ({"sms_tencent_templates": {"login_code": "1000001:code,extra"}},
         "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"),
        ({"sms_tencent_sign_name": "别的签名"}, "FailedOperation.SignatureIncorrectOrUnapproved"),
        ({"sms_tencent_sdk_app_id": "1400999999"}, "UnauthorizedOperation.SmsSdkAppIdVerifyFail"),
        ({"sms_tencent_region": "ap-mars"}, "UnsupportedOperation.UnsupportedRegion"),
    ]
    for overrides, code in cases:
        message = SmsMessage(random_phone(), LOGIN_CODE, {"code": "1", "extra": "2"})
        with pytest.raises(SmsPermanentError) as refused:
            await send(settings, message, **overrides)
        assert refused.value.code == code, overrides
    assert await sms.messages() == []


async def test_a_wrong_key_is_refused_by_signature(settings: Settings, sms: SmsSim) -> None:
    with pytest.raises(SmsPermanentError) as bad_key:
        await send(settings, login_code(random_phone()), sms_tencent_secret_key=SecretStr("not-the-key"))
    assert bad_key.value.code == "AuthFailure.SignatureFailure" and bad_key.value.request_id
    with pytest.raises(SmsPermanentError) as unknown_id:
        await send(settings, login_code(random_phone()), sms_tencent_secret_id="AKIDunknown")
    assert unknown_id.value.code == "AuthFailure.SecretIdNotFound"
    assert (await sms.stats())["rejected"] == {"AuthFailure.SignatureFailure": 1, "AuthFailure.SecretIdNotFound": 1}
    assert await sms.messages() == []


async def test_provider_down_or_slow_is_temporary(settings: Settings, sms: SmsSim) -> None:
    await sms.fault(http_status=502)
    with pytest.raises(SmsTemporaryError) as down:
        await send(settings, login_code(random_phone()))
    assert down.value.code == "NETWORK"
    await sms.fault(delay_ms=3000)
    with pytest.raises(SmsTemporaryError) as slow:
        await send(settings, login_code(random_phone()), sms_timeout_s=0.3)
    assert slow.value.code == "NETWORK"
    phone = random_phone()
    await send(settings, login_code(phone))  # faults used up: back to normal
    assert len(await sms.messages(phone)) == 1


async def test_unsigned_and_foreign_requests(simulators: str, sms: SmsSim) -> None:
    async with httpx.AsyncClient(base_url=simulators) as client:
        unsigned = await client.post("/", headers={"X-TC-Action": "SendSms"}, json={})
        assert unsigned.status_code == 200 and unsigned.headers["Content-Type"] == "application/json"
        assert unsigned.json()["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
        assert (await client.post("/_sim/sms-tencent/faults", json={"http_status": 200})).status_code == 400
