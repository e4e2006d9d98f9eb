"""The Aliyun SMS adapter (official SDK, ACS3 signatures) against the simulator: what is sent, and how every
refusal maps onto temporary (retry) or permanent (give up) failures.

The SDK is blocking and the simulator runs on this test's event loop, so each send runs in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from config.settings import Settings
from notifications.channels.aliyun_sms import AliyunSms
from notifications.channels.sms import LOGIN_CODE, SmsMessage, SmsPermanentError, SmsTemporaryError
from tests.support.sms import SmsSim, fresh_sms_sim, random_phone


@pytest.fixture
async def sms(simulators: str) -> AsyncIterator[SmsSim]:
    async with fresh_sms_sim(simulators) as sim:
        yield sim


async def send(settings: Settings, message: SmsMessage, **overrides: object):
    adapter = AliyunSms.from_settings(settings.model_copy(update=overrides) if overrides else settings)
    return await asyncio.to_thread(adapter.send, message)


def login_code(phone: str, code: str = "246810") -> SmsMessage:
    return SmsMessage(phone, LOGIN_CODE, {"code": code}, reference="ref-" + code)


async def test_a_signed_send_is_delivered_to_the_phone(settings: Settings, sms: SmsSim) -> None:
    phone = random_phone()
    result = await send(settings, login_code(phone))
    assert result.provider == "aliyun" and result.biz_id.endswith("^0") and result.request_id
    [message] = await sms.messages(phone)
    assert message["params"] == {"code": "246810"} and message["biz_id"] == result.biz_id
    assert message["template_code"] == settings.sms_template_login and message["out_id"] == "ref-246810"
    assert message["text"].startswith("【掌上办】您的验证码为246810，5分钟内有效")
    # the inbox answers to the usual spellings of the number
    assert await sms.messages(phone.removeprefix("+86")) == [message]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", SmsTemporaryError),
        ("isp.SYSTEM_ERROR", SmsTemporaryError),
        ("isv.MOBILE_NUMBER_ILLEGAL", SmsPermanentError),
        ("isv.TEMPLATE_MISSING_PARAMETERS", SmsPermanentError),
        ("isv.AMOUNT_NOT_ENOUGH", SmsPermanentError),
    ],
)
async def test_business_codes_are_mapped(settings: Settings, sms: SmsSim, code: str,
                                         error: type[Exception]) -> None:
    await sms.fault(code=code)
    with pytest.raises(error) as caught:
        await send(settings, login_code(random_phone()))
    assert caught.value.code == code and caught.value.provider == "aliyun"
    assert (await sms.stats())["answered"] == {code: 1}


async def test_the_simulator_applies_the_real_rules(settings: Settings, sms: SmsSim) -> None:
    with pytest.raises(SmsPermanentError) as illegal:
        await send(settings, login_code("+861380000"))
    assert illegal.value.code == "isv.MOBILE_NUMBER_ILLEGAL"
    with pytest.raises(SmsPermanentError) as missing:
        await send(settings, SmsMessage(random_phone(), LOGIN_CODE, {}))
    assert missing.value.code == "isv.TEMPLATE_MISSING_PARAMETERS"
    with pytest.raises(SmsPermanentError) as template:
        await send(settings, login_code(random_phone()), sms_template_login="SMS_999999")
    assert template.value.code == "isv.SMS_TEMPLATE_ILLEGAL"
    with pytest.raises(SmsPermanentError) as sign:
        await send(settings, login_code(random_phone()), sms_sign_name="别的签名")
    assert sign.value.code == "isv.SMS_SIGNATURE_ILLEGAL"
    assert await sms.messages() == []


async def test_a_wrong_secret_or_key_is_refused_at_the_gateway(settings: Settings, sms: SmsSim) -> None:
    with pytest.raises(SmsPermanentError) as bad_secret:
        await send(settings, login_code(random_phone()), sms_aliyun_access_key_secret=SecretStr("not-the-secret"))
    assert bad_secret.value.code == "SignatureDoesNotMatch"
    with pytest.raises(SmsPermanentError) as unknown_key:
        await send(settings, login_code(random_phone()), sms_aliyun_access_key_id="LTAI-unknown")
    assert unknown_key.value.code == "InvalidAccessKeyId.NotFound"
    assert (await sms.stats())["rejected"] == {"SignatureDoesNotMatch": 1, "InvalidAccessKeyId.NotFound": 1}
    assert await sms.messages() == []


async def test_provider_down_or_slow_is_temporary(settings: Settings, sms: SmsSim) -> None:
    await sms.fault(http_status=503)
    with pytest.raises(SmsTemporaryError) as down:
        await send(settings, login_code(random_phone()))
    assert down.value.code == "ServiceUnavailable"
    await sms.fault(delay_ms=3000)
    with pytest.raises(SmsTemporaryError) as slow:
        await send(settings, login_code(random_phone()), sms_timeout_s=0.3)
    assert slow.value.code == "NETWORK"
    phone = random_phone()
    await send(settings, login_code(phone))  # faults used up: back to normal
    assert len(await sms.messages(phone)) == 1


async def test_unsigned_and_foreign_requests(simulators: str, sms: SmsSim) -> None:
    async with httpx.AsyncClient(base_url=simulators) as client:
        unsigned = await client.post("/?PhoneNumbers=13800000001", headers={"x-acs-action": "SendSms"})
        assert unsigned.status_code == 400 and unsigned.json()["Code"] == "IncompleteSignature"
        assert (await client.post("/")).status_code == 404  # the root is claimed only with x-acs-action
        bad_fault = await client.post("/_sim/sms/faults", json={"http_status": 200})
        assert bad_fault.status_code == 400
