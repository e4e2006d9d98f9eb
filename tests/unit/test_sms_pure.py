"""Pure rules of SMS login codes, the SMS channel and the Aliyun simulator's signature check (no servers)."""

from __future__ import annotations

import hashlib

import pytest
from alibabacloud_tea_openapi.utils import Utils
from darabonba.request import DaraRequest

from accounts.sms_codes import code_digest, codes_match, new_code, reference
from notifications.channels.aliyun_sms import classify, provider_number
from notifications.channels.sms import LOGIN_CODE, SmsMessage, SmsPermanentError, SmsTemporaryError
from notifications.tasks_sms import BACKOFF_MAX_S, MAX_RETRIES, retry_delay
from simulators.sms_aliyun_state import canonical_request, mainland_e164, parse_fault, sign, string_to_sign

KEY = b"k" * 32
PHONE = "+8613800000003"


def test_codes_are_six_random_digits() -> None:
    codes = {new_code() for _ in range(300)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 290  # not a fixed or tiny set


def test_digest_binds_key_phone_purpose_and_code() -> None:
    base = code_digest(KEY, PHONE, "login", "123456")
    assert base == code_digest(KEY, PHONE, "login", "123456") and len(base) == 64
    assert "123456" not in base
    others = {
        code_digest(b"j" * 32, PHONE, "login", "123456"),
        code_digest(KEY, "+8613800000004", "login", "123456"),
        code_digest(KEY, PHONE, "staff_2fa", "123456"),
        code_digest(KEY, PHONE, "login", "123457"),
    }
    assert base not in others and len(others) == 4
    assert codes_match(base, code_digest(KEY, PHONE, "login", "123456"))
    assert not codes_match(base, code_digest(KEY, PHONE, "login", "654321"))


def test_references_hide_the_value() -> None:
    ref = reference(KEY, "phone", PHONE)
    assert ref == reference(KEY, "phone", PHONE) and "13800000003" not in ref and len(ref) == 32
    assert ref != reference(KEY, "ip", PHONE) != reference(b"j" * 32, "phone", PHONE)


def test_retries_are_bounded_jittered_and_stop_before_the_code_expires() -> None:
    for attempt in range(MAX_RETRIES):
        delays = [retry_delay(attempt, None, 0.0) for _ in range(50)]
        assert all(d is not None and 0 <= d <= min(2 * 2**attempt, BACKOFF_MAX_S) for d in delays)
        assert len(set(delays)) > 1  # jitter
    assert retry_delay(MAX_RETRIES, None, 0.0) is None
    assert retry_delay(0, 100.0, 100.0) is None  # the code would be stale by then
    assert retry_delay(0, 100.0, 0.0) is not None


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", SmsTemporaryError), ("isp.SYSTEM_ERROR", SmsTemporaryError),
        ("Throttling.User", SmsTemporaryError), ("ServiceUnavailable", SmsTemporaryError),
        ("isv.MOBILE_NUMBER_ILLEGAL", SmsPermanentError), ("isv.TEMPLATE_MISSING_PARAMETERS", SmsPermanentError),
        ("isv.AMOUNT_NOT_ENOUGH", SmsPermanentError), ("isv.SOMETHING_NEW", SmsPermanentError),
        ("SignatureDoesNotMatch", SmsPermanentError), ("InvalidAccessKeyId.NotFound", SmsPermanentError),
    ],
)
def test_aliyun_codes_are_classified(code: str, error: type[Exception]) -> None:
    assert classify(code) is error


def test_numbers_in_aliyun_form_and_never_in_a_repr() -> None:
    assert provider_number("+8613800000003") == "13800000003"
    assert provider_number("+85291234567") == "85291234567"
    message = SmsMessage(PHONE, LOGIN_CODE, {"code": "123456"})
    assert "13800000003" not in repr(message) and "123456" not in repr(message)
    assert mainland_e164("0086 13800000003".replace(" ", "")) == PHONE and mainland_e164("12345") is None


def test_the_simulator_and_the_sdk_agree_on_acs3() -> None:
    """Two readings of the ACS3 rules: the SDK's signer and the simulator's verifier give the same signature."""
    request = DaraRequest()
    request.method, request.pathname = "POST", "/"
    request.query = {"PhoneNumbers": "13800000003", "SignName": "掌上办", "TemplateParam": '{"code":"1 2~3"}'}
    request.headers = {"host": "127.0.0.1:8090", "x-acs-action": "SendSms", "x-acs-version": "2017-05-25",
                       "x-acs-date": "2026-11-25T06:13:05Z", "x-acs-signature-nonce": "abc",
                       "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(), "accept": "application/json"}
    auth = Utils.get_authorization(request, "ACS3-HMAC-SHA256", hashlib.sha256(b"").hexdigest(), "ak", "secret")
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    ours = sign("secret", string_to_sign(canonical_request(
        "POST", "/", list(request.query.items()), signed, lambda name: [request.headers[name]], b"")))
    assert auth.endswith(f"Signature={ours}")


@pytest.mark.parametrize("body", [{}, {"code": "no dots"}, {"http_status": 200}, {"delay_ms": 10, "times": 0}])
def test_bad_faults_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_fault(body)
