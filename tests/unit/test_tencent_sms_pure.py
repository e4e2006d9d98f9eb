"""Tencent SMS without the network: template specs, error classes, and the simulator's TC3 check against what
the official SDK signs (two independent readings of TC3-HMAC-SHA256 must agree)."""

from __future__ import annotations

import json
import time

import pytest
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111.sms_client import SmsClient

from notifications.channels.sms import SmsPermanentError, SmsTemporaryError
from notifications.channels.tencent_sms import TencentTemplate, classify, parse_templates
from simulators.sms_reports import ReportSender
from simulators.sms_tencent_state import TencentError, TencentSmsState, parse_fault, templates_from_setting

ENDPOINT = "127.0.0.1:9"
KEY = "the-key"


def test_template_specs() -> None:
    assert parse_templates({"login_code": "1000001:code", "case.accepted": "2460101:matter,case_no,due",
                            "plain": "7"}) == {
        "login_code": TencentTemplate("1000001", ("code",)),
        "case.accepted": TencentTemplate("2460101", ("matter", "case_no", "due")),
        "plain": TencentTemplate("7", ()),
    }
    for bad in ("SMS_1:code", "1000001:code,", "1000001:1st", ""):
        with pytest.raises(ValueError):
            parse_templates({"x": bad})


@pytest.mark.parametrize(("code", "error"), [
    ("LimitExceeded.PhoneNumberDailyLimit", SmsTemporaryError),
    ("LimitExceeded.PhoneNumberThirtySecondLimit", SmsTemporaryError),
    ("InternalError.Timeout", SmsTemporaryError),
    ("InternalError", SmsTemporaryError),
    ("RequestLimitExceeded", SmsTemporaryError),
    ("ClientNetworkError", SmsTemporaryError),
    ("ServerNetworkError", SmsTemporaryError),
    ("InvalidParameterValue.IncorrectPhoneNumber", SmsPermanentError),
    ("FailedOperation.TemplateIncorrectOrUnapproved", SmsPermanentError),
    ("FailedOperation.SignatureIncorrectOrUnapproved", SmsPermanentError),
    ("FailedOperation.InsufficientBalanceInSmsPackage", SmsPermanentError),
    ("AuthFailure.SignatureFailure", SmsPermanentError),
    ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", SmsPermanentError),
    ("LimitExceeded.PhoneNumberCountLimit", SmsPermanentError),  # our request had > 200 numbers: never passes
    ("InternalError.SigVerificationFail", SmsPermanentError),
    ("SomethingNew.Unknown", SmsPermanentError),
])
def test_error_classes(code: str, error: type[Exception]) -> None:
    assert classify(code) is error


def signed_request(secret_key: str, body: dict | None = None) -> RequestInternal:
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=ENDPOINT))
    client = SmsClient(Credential("AKIDtest", secret_key), "ap-guangzhou", profile)
    request = RequestInternal(ENDPOINT, "POST", "/", header={})
    client._build_req_inter("SendSms", body or {"PhoneNumberSet": ["+8613800000001"]}, request)
    return request


def state() -> TencentSmsState:
    return TencentSmsState(secret_id="AKIDtest", secret_key=KEY, sdk_app_id="1400000001",
                           sign_names={"掌上办"}, templates=templates_from_setting({"login_code": "1000001:code"}),
                           reports=ReportSender(url="", delay_ms=0, acknowledged=lambda _: True))


def authenticate(sim: TencentSmsState, request: RequestInternal, *, body: str | None = None,
                 now: float | None = None) -> str:
    headers = {k.lower(): str(v) for k, v in request.header.items()}
    data = body if body is not None else request.data
    return sim.authenticate("POST", "/", "", lambda name: headers.get(name.lower()), data.encode(),
                            now if now is not None else time.time())


def test_the_sdk_signature_verifies() -> None:
    assert authenticate(state(), signed_request(KEY)) == "AKIDtest"


def test_wrong_key_changed_body_or_stale_time_are_refused() -> None:
    sim = state()
    with pytest.raises(TencentError) as wrong_key:
        authenticate(sim, signed_request("another-key"))
    assert wrong_key.value.code == "AuthFailure.SignatureFailure"
    request = signed_request(KEY)
    with pytest.raises(TencentError) as changed:
        authenticate(sim, request, body=json.dumps({"PhoneNumberSet": ["+8613999999999"]}))
    assert changed.value.code == "AuthFailure.SignatureFailure"
    with pytest.raises(TencentError) as stale:
        authenticate(sim, request, now=time.time() + 301)
    assert stale.value.code == "AuthFailure.SignatureExpire"
    sim.secret_keys = {"AKIDother": KEY}
    with pytest.raises(TencentError) as unknown:
        authenticate(sim, request)
    assert unknown.value.code == "AuthFailure.SecretIdNotFound"


def test_fault_scope_follows_tencents_habit() -> None:
    assert parse_fault({"code": "LimitExceeded.PhoneNumberDailyLimit"}).scope == "number"
    assert parse_fault({"code": "InternalError.Timeout"}).scope == "request"
    assert parse_fault({"code": "InternalError.Timeout", "scope": "number"}).scope == "number"
    for bad in ({}, {"http_status": 200}, {"code": "x"}, {"code": "A.b", "scope": "batch"}, {"delay_ms": 5, "times": 0}):
        with pytest.raises(ValueError):
            parse_fault(bad)
