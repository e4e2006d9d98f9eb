"""State and rules of the Tencent Cloud SMS simulator: the API key, SmsSdkAppId, sign names and templates it
accepts, the TC3-HMAC-SHA256 check, `SendSms` validation, the phones' inboxes, faults, delivery reports and
counters. The HTTP side is in simulators/sms_tencent.py.

The signature check follows Tencent's published TC3 rules (canonical request with lower-cased, trimmed signed
headers; a signing key derived from `TC3` + SecretKey, the UTC date, the service and `tc3_request`), written
apart from the SDK so that a misreading on either side fails the tests instead of agreeing with itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from simulators.sms_reports import ReportSender

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "sms"
API_VERSION = "2021-01-11"
REGIONS = frozenset({"ap-guangzhou", "ap-beijing", "ap-nanjing"})
MAX_SKEW_S = 300  # Tencent refuses a timestamp more than 5 minutes off
SHANGHAI = ZoneInfo("Asia/Shanghai")
_AUTH_RE = re.compile(r"^TC3-HMAC-SHA256 Credential=([^/\s]+)/(\d{4}-\d{2}-\d{2})/([a-z0-9]+)/tc3_request, "
                      r"SignedHeaders=([a-z0-9;\-]+), Signature=([0-9a-f]{64})$")
_MAINLAND_RE = re.compile(r"^(?:\+86|0086|86)?(1[3-9]\d{9})$")
_PLACEHOLDER = re.compile(r"\{(\d+)\}")
# Codes Tencent reports per number inside a 200 answer; every other code refuses the whole request.
NUMBER_SCOPED = ("LimitExceeded.PhoneNumber", "LimitExceeded.DeliveryFrequencyLimit",
                 "InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist")
MESSAGES = {
    "Ok": "send success",
    "InvalidParameterValue.IncorrectPhoneNumber": "incorrect phone number",
    "LimitExceeded.PhoneNumberDailyLimit": "the number of SMS messages sent from a single mobile number every day "
                                           "exceeds the upper limit",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "the number of SMS messages sent from a single mobile number "
                                                  "within 30 seconds exceeds the upper limit",
    "InternalError.Timeout": "the request timed out",
    "FailedOperation.InsufficientBalanceInSmsPackage": "the package balance is insufficient",
}
LOGIN_TEMPLATE_TEXT = "您的验证码为{1}，5分钟内有效，请勿泄露于他人。如非本人操作，请忽略本短信。"


class TencentError(Exception):
    """A refused request: HTTP 200 with `{"Response": {"Error": {Code, Message}, "RequestId"}}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message

    def body(self, request_id: str) -> dict[str, Any]:
        return {"Response": {"Error": {"Code": self.code, "Message": self.message}, "RequestId": request_id}}


def new_request_id() -> str:
    return str(uuid.uuid4())


def signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing_key = mac(mac(mac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def mainland_e164(number: str) -> str | None:
    match = _MAINLAND_RE.match(str(number).strip())
    return f"+86{match[1]}" if match else None


@dataclass
class Fault:
    code: str | None
    scope: str  # "number" (inside SendStatusSet) or "request" (Response.Error)
    http_status: int | None
    delay_ms: int
    remaining: int

    def describe(self) -> dict[str, Any]:
        return {"code": self.code, "scope": self.scope, "http_status": self.http_status, "delay_ms": self.delay_ms,
                "times": self.remaining}


def parse_fault(body: Mapping[str, Any]) -> Fault:
    """`{"code"}` (scope by Tencent's habit, or `scope`), `{"http_status"}` and/or `{"delay_ms"}`, `times`."""
    code, status = body.get("code"), body.get("http_status")
    delay_ms, times = int(body.get("delay_ms") or 0), int(body.get("times", 1))
    if code is not None and not (isinstance(code, str) and re.fullmatch(r"[A-Za-z][\w.]{2,80}", code)):
        raise ValueError("code must look like LimitExceeded.PhoneNumberDailyLimit")
    if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
        raise ValueError("http_status must be an integer 400-599")
    if code is None and status is None and delay_ms <= 0:
        raise ValueError("give code, http_status or delay_ms")
    if times < 1 or delay_ms < 0:
        raise ValueError("times must be >= 1 and delay_ms >= 0")
    scope = body.get("scope") or ("number" if code and code.startswith(NUMBER_SCOPED) else "request")
    if scope not in ("number", "request"):
        raise ValueError("scope must be number or request")
    return Fault(code, scope, status, delay_ms, times)


class TencentSmsState:
    def __init__(self, *, secret_id: str, secret_key: str, sdk_app_id: str, sign_names: set[str],
                 templates: Mapping[str, str], reports: ReportSender) -> None:
        self.secret_keys = {secret_id: secret_key}
        self.sdk_app_id = sdk_app_id
        self.sign_names = set(sign_names)
        self.default_templates = dict(templates)  # TemplateId -> text with {1}, {2}, …
        self.reports = reports
        self.reset()

    def reset(self) -> None:
        self.templates = dict(self.default_templates)
        self.inbox: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.requests = 0
        self.answered: Counter[str] = Counter()  # per-number Codes in 200 answers
        self.rejected: Counter[str] = Counter()  # whole-request refusals by Code
        self.faults_served = 0
        self.reports.reset()

    def take_fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.faults.pop(0)
        self.faults_served += 1
        return fault

    # -- TC3-HMAC-SHA256 ------------------------------------------------------------------------------------
    def authenticate(self, method: str, path: str, query: str, header: Callable[[str], str | None], body: bytes,
                     now: float) -> str:
        """The SecretId of a correctly signed, fresh request; TencentError (AuthFailure.*) otherwise."""
        match = _AUTH_RE.match(header("Authorization") or "")
        if match is None:
            raise TencentError("AuthFailure.InvalidAuthorization", "Authorization 不符合腾讯云标准。")
        secret_id, date, service, signed, given = match.groups()
        secret_key = self.secret_keys.get(secret_id)
        if secret_key is None:
            raise TencentError("AuthFailure.SecretIdNotFound", "密钥不存在。")
        try:
            stamp = int(header("X-TC-Timestamp") or "")
        except ValueError:
            raise TencentError("AuthFailure.InvalidAuthorization", "X-TC-Timestamp 不合法。") from None
        if abs(now - stamp) > MAX_SKEW_S:
            raise TencentError("AuthFailure.SignatureExpire", "签名过期。Timestamp 和服务器时间相差不得超过五分钟。")
        names = signed.split(";")
        if names != sorted(names) or not {"content-type", "host"} <= set(names):
            raise TencentError("AuthFailure.InvalidAuthorization", "SignedHeaders 须升序且至少包含 content-type 和 host。")
        canonical_headers = "".join(f"{name}:{(header(name) or '').strip().lower()}\n" for name in names)
        canonical = "\n".join([method.upper(), path or "/", query, canonical_headers, signed,
                               hashlib.sha256(body).hexdigest()])
        to_sign = "\n".join([ALGORITHM, str(stamp), f"{date}/{service}/tc3_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])
        scope_ok = service == SERVICE and date == datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
        if not scope_ok or not hmac.compare_digest(signature(secret_key, date, service, to_sign), given):
            raise TencentError("AuthFailure.SignatureFailure", "签名错误。请对照调用方式中的签名方法文档检查签名计算过程。")
        return secret_id

    # -- SendSms --------------------------------------------------------------------------------------------
    def send_sms(self, params: Mapping[str, Any], request_id: str, fault: Fault | None) -> dict[str, Any]:
        """The `Response` of a SendSms that passed the gateway: a SendStatusSet, or TencentError for the request."""
        if fault is not None and fault.code and fault.scope == "request":
            raise TencentError(fault.code, MESSAGES.get(fault.code, fault.code))
        numbers, template_params = params.get("PhoneNumberSet"), params.get("TemplateParamSet") or []
        if not isinstance(numbers, list) or not numbers:
            raise TencentError("MissingParameter.EmptyPhoneNumberSet", "手机号码不能为空。")
        if len(numbers) > 200:
            raise TencentError("LimitExceeded.PhoneNumberCountLimit", "单次请求的手机号个数超过200。")
        if params.get("SmsSdkAppId") != self.sdk_app_id:
            raise TencentError("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId 校验失败。")
        if params.get("SignName") not in self.sign_names:
            raise TencentError("FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误。")
        text = self.templates.get(str(params.get("TemplateId")))
        if text is None:
            raise TencentError("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配。")
        if not isinstance(template_params, list) or not all(isinstance(p, str) for p in template_params):
            raise TencentError("InvalidParameterValue.TemplateParameterFormatError", "验证码模板参数格式错误。")
        if len(template_params) != len(set(_PLACEHOLDER.findall(text))):
            raise TencentError("FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                               "请求内容与审核通过的模板内容不匹配。")
        rendered = f"【{params['SignName']}】" + _PLACEHOLDER.sub(lambda m: template_params[int(m[1]) - 1], text)
        return {"SendStatusSet": [self._send_one(str(n), params, rendered, request_id, fault) for n in numbers],
                "RequestId": request_id}

    def _send_one(self, number: str, params: Mapping[str, Any], text: str, request_id: str,
                  fault: Fault | None) -> dict[str, Any]:
        phone = mainland_e164(number)
        code = fault.code if fault is not None and fault.code and fault.scope == "number" else None
        if code is None and phone is None:
            code = "InvalidParameterValue.IncorrectPhoneNumber"
        status: dict[str, Any] = {"SerialNo": "", "PhoneNumber": number, "Fee": 0,
                                  "SessionContext": str(params.get("SessionContext") or ""), "IsoCode": "CN"}
        if code is not None:
            self.answered[code] += 1
            return {**status, "Code": code, "Message": MESSAGES.get(code, code)}
        assert phone is not None
        serial = f"{secrets.randbelow(9000) + 1000}:{secrets.randbelow(10**19):019d}"
        sent_at = time.time()
        self.inbox.append({
            "phone": phone, "sign_name": params["SignName"], "template_id": str(params["TemplateId"]),
            "params": list(params.get("TemplateParamSet") or []), "text": text, "serial_no": serial,
            "session_context": params.get("SessionContext"), "request_id": request_id,
            "sent_at": datetime.fromtimestamp(sent_at, UTC).isoformat(),
        })
        self._report(phone, serial, sent_at)
        self.answered["Ok"] += 1
        return {**status, "SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": MESSAGES["Ok"]}

    def _report(self, phone: str, serial: str, sent_at: float) -> None:
        failure = self.reports.take_failure(phone)
        received = datetime.fromtimestamp(sent_at + self.reports.delay_ms / 1000, SHANGHAI)
        self.reports.schedule({
            "user_receive_time": received.strftime("%Y-%m-%d %H:%M:%S"), "nationcode": "86",
            "mobile": phone.removeprefix("+86"), "report_status": "FAIL" if failure else "SUCCESS",
            "errmsg": failure[0] if failure else "DELIVRD",
            "description": failure[1] if failure else "用户短信送达成功", "sid": serial,
        })

    def add_template(self, template_id: str, text: str) -> None:
        if not re.fullmatch(r"\d{1,20}", template_id) or not text:
            raise ValueError("template_id must be digits and text non-empty (placeholders {1}, {2}, …)")
        self.templates[template_id] = text

    def messages(self, phone_e164: str | None) -> list[dict[str, Any]]:
        return [m for m in reversed(self.inbox) if phone_e164 is None or m["phone"] == phone_e164]

    def stats(self) -> dict[str, Any]:
        return {"requests": self.requests, "delivered": len(self.inbox), "answered": dict(self.answered),
                "rejected": dict(self.rejected), "faults_served": self.faults_served,
                "faults_pending": [f.describe() for f in self.faults], **self.reports.stats()}


def templates_from_setting(spec: Mapping[str, str]) -> dict[str, str]:
    """The simulator's templates from ZSB_SMS_TENCENT_TEMPLATES: the login code's real text, others a plain one."""
    templates: dict[str, str] = {}
    for name, value in spec.items():
        template_id, _, names = value.partition(":")
        count = len([n for n in names.split(",") if n])
        texts = {"login_code": LOGIN_TEMPLATE_TEXT}
        templates[template_id] = texts.get(name) or "，".join(f"{{{i}}}" for i in range(1, count + 1)) or name
    return templates


def report_acknowledged(answer: Any) -> bool:
    """Tencent's callback expects `{"result": 0, "errmsg": "OK"}`."""
    return isinstance(answer, dict) and answer.get("result") == 0
