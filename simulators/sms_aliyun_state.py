"""State and rules of the Aliyun SMS simulator: the AccessKeys, sign names and templates it accepts, the ACS3
signature check, `SendSms` validation, the phones' inboxes, injected faults and counters. The HTTP side is in
simulators/sms_aliyun.py.

The signature check is written from Aliyun's published ACS3-HMAC-SHA256 rules, not imported from the SDK: two
independent readings, so a misreading on either side fails the tests instead of agreeing with itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from simulators.sms_reports import ReportSender

ALGORITHM = "ACS3-HMAC-SHA256"
API_VERSION = "2017-05-25"
MAX_SKEW_S = 900  # Aliyun accepts x-acs-date within 15 minutes
NONCE_TTL_S = 900
_AUTH_RE = re.compile(r"^(\S+) Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-fA-F]+)$")
_MAINLAND_RE = re.compile(r"^(?:\+86|0086|86)?(1[3-9]\d{9})$")
_VARIABLE_RE = re.compile(r"\$\{(\w+)\}")
_CODE_RE = re.compile(r"^[A-Za-z][\w.]{2,80}$")
SHANGHAI = ZoneInfo("Asia/Shanghai")  # report times are Beijing time, as Aliyun writes them

# The Message Aliyun sends with each Code (its wording, Chinese for the isv.* business codes).
MESSAGES = {
    "OK": "OK",
    "isv.BUSINESS_LIMIT_CONTROL": "触发分钟级流控Permits:1",
    "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板缺少变量",
    "isv.AMOUNT_NOT_ENOUGH": "账户余额不足",
    "isv.SMS_TEMPLATE_ILLEGAL": "该账号下找不到对应模板",
    "isv.SMS_SIGNATURE_ILLEGAL": "该账号下找不到对应签名",
    "isv.INVALID_JSON_PARAM": "JSON参数不合法，只接受字符串值",
    "isv.MOBILE_COUNT_OVER_LIMIT": "手机号码数量超过限制",
    "isp.SYSTEM_ERROR": "系统错误",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
    "InternalError": "The request processing has failed due to some unknown error, exception or failure.",
    "Throttling.User": "Request was denied due to user flow control.",
}
_DEFAULT_FOR_STATUS = {500: "InternalError", 503: "ServiceUnavailable", 400: "Throttling.User"}


class AliyunError(Exception):
    """A gateway-level refusal: HTTP `status` with Aliyun's `{RequestId, HostId, Code, Message}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message

    def body(self, request_id: str) -> dict[str, str]:
        return {"RequestId": request_id, "HostId": "dysmsapi.aliyuncs.com", "Code": self.code,
                "Message": self.message}


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def rfc3986(text: str) -> str:
    """Percent-encoding as ACS3 specifies: unreserved characters kept, space as %20, UTF-8."""
    return quote(text, safe="-_.~", encoding="utf-8")


def canonical_request(method: str, path: str, query: Sequence[tuple[str, str]], signed_headers: Sequence[str],
                      header_values: Callable[[str], list[str]], body: bytes) -> str:
    """METHOD \\n URI \\n sorted query \\n signed headers (name:value) \\n their names \\n hex(SHA256(body))."""
    canonical_query = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in sorted(query))
    lines = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in header_values(name)))}\n" for name in signed_headers
    )
    return "\n".join([method.upper(), quote(path or "/", safe="/-_.~"), canonical_query, lines,
                      ";".join(signed_headers), hashlib.sha256(body).hexdigest()])


def string_to_sign(canonical: str) -> str:
    return f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def mainland_e164(number: str) -> str | None:
    match = _MAINLAND_RE.match(number.strip())
    return f"+86{match[1]}" if match else None


@dataclass
class Fault:
    code: str | None
    http_status: int | None
    delay_ms: int
    remaining: int

    def describe(self) -> dict[str, Any]:
        return {"code": self.code, "http_status": self.http_status, "delay_ms": self.delay_ms,
                "times": self.remaining}


def parse_fault(body: Mapping[str, Any]) -> Fault:
    """`{"code": "isv.…"}`, `{"http_status": 503}` and/or `{"delay_ms": n}`, for the next `times` (default 1)."""
    code, status = body.get("code"), body.get("http_status")
    delay_ms, times = int(body.get("delay_ms") or 0), int(body.get("times", 1))
    if code is not None and not (isinstance(code, str) and _CODE_RE.match(code)):
        raise ValueError("code must look like isv.BUSINESS_LIMIT_CONTROL")
    if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
        raise ValueError("http_status must be an integer 400-599")
    if code is None and status is None and delay_ms <= 0:
        raise ValueError("give code, http_status or delay_ms")
    if times < 1 or delay_ms < 0:
        raise ValueError("times must be >= 1 and delay_ms >= 0")
    return Fault(code, status, delay_ms, times)


class AliyunSmsState:
    def __init__(self, access_keys: Mapping[str, str], sign_names: set[str], templates: Mapping[str, str],
                 reports: ReportSender | None = None) -> None:
        self.access_keys = dict(access_keys)  # AccessKey id -> secret
        self.sign_names = set(sign_names)
        self.default_templates = dict(templates)  # TemplateCode -> text with ${variables}
        self.reports = reports  # SmsReport delivery reports (simulators/sms_reports.py)
        self.reset()

    def reset(self) -> None:
        self.templates = dict(self.default_templates)
        if self.reports is not None:
            self.reports.reset()
        self.inbox: list[dict[str, Any]] = []  # every delivered message, oldest first
        self.nonces: dict[str, float] = {}
        self.faults: list[Fault] = []
        self.requests = 0
        self.answered: Counter[str] = Counter()  # HTTP 200 answers by Code
        self.rejected: Counter[str] = Counter()  # gateway refusals by Code
        self.faults_served = 0

    # -- faults -------------------------------------------------------------------------------------------
    def take_fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.faults.pop(0)
        self.faults_served += 1
        return fault

    # -- ACS3 signature -------------------------------------------------------------------------------------
    def authenticate(self, method: str, path: str, query: Sequence[tuple[str, str]],
                     header_values: Callable[[str], list[str]], body: bytes, now: float) -> str:
        """The AccessKey id of a correctly signed, fresh, never-seen request; AliyunError otherwise."""
        match = _AUTH_RE.match(",".join(header_values("Authorization")))
        if match is None or match[1] != ALGORITHM:
            raise AliyunError(400, "IncompleteSignature", "The request signature does not conform to Aliyun "
                              "standards. Authorization must be ACS3-HMAC-SHA256 Credential,SignedHeaders,Signature")
        key_id, signed, signature = match[2], match[3].split(";"), match[4].lower()
        secret = self.access_keys.get(key_id)
        if secret is None:
            raise AliyunError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        present = {name.lower() for name in ("host", "x-acs-action", "x-acs-version", "x-acs-date",
                                             "x-acs-signature-nonce", "x-acs-content-sha256")}
        if signed != sorted(signed) or not present <= set(signed) or any(n != n.lower() for n in signed):
            raise AliyunError(400, "IncompleteSignature", "The request signature does not conform to Aliyun "
                              "standards. SignedHeaders must be sorted, lower-case and include host and x-acs-*")
        text = string_to_sign(canonical_request(method, path, query, signed, header_values, body))
        if not hmac.compare_digest(sign(secret, text), signature):
            raise AliyunError(400, "SignatureDoesNotMatch", "The request signature does not conform to Aliyun "
                              f"standards. server string to sign is:{text}")
        self._check_date(header_values("x-acs-date")[0], now)
        nonce = header_values("x-acs-signature-nonce")[0]
        self.nonces = {n: t for n, t in self.nonces.items() if t > now - NONCE_TTL_S}
        if nonce in self.nonces:
            raise AliyunError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces[nonce] = now
        return key_id

    @staticmethod
    def _check_date(value: str, now: float) -> None:
        try:
            stamp = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise AliyunError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well "
                              "formatted.") from None
        if abs(now - stamp) > MAX_SKEW_S:
            raise AliyunError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")

    # -- SendSms --------------------------------------------------------------------------------------------
    def send_sms(self, params: Mapping[str, str], request_id: str, business_fault: str | None) -> dict[str, str]:
        """The 200 answer of SendSms: `Code: OK` with a BizId, or an `isv.*` code. Missing parameters are a 400."""
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                raise AliyunError(400, f"Missing{name}", f"{name} is mandatory for this action.")
        code = business_fault or self._refusal(params)
        if code is not None:
            return self._answer(code, request_id)
        biz_id = _biz_id()
        values = json.loads(params.get("TemplateParam") or "{}")
        text = f"【{params['SignName']}】" + _VARIABLE_RE.sub(
            lambda m: values[m[1]], self.templates[params["TemplateCode"]])
        sent_at = time.time()
        for number in params["PhoneNumbers"].split(","):
            phone = mainland_e164(number)
            self.inbox.append({
                "phone": phone, "sign_name": params["SignName"],
                "template_code": params["TemplateCode"], "params": values, "text": text, "biz_id": biz_id,
                "out_id": params.get("OutId"), "request_id": request_id,
                "sent_at": datetime.fromtimestamp(sent_at, UTC).isoformat(),
            })
            if self.reports is not None and phone is not None:
                self._report(phone, text, biz_id, params.get("OutId") or "", sent_at)
        return {**self._answer("OK", request_id), "BizId": biz_id}

    def _report(self, phone: str, text: str, biz_id: str, out_id: str, sent_at: float) -> None:
        """An SmsReport entry: Beijing times, `DELIVERED` or the forced failure, size in billed parts."""
        assert self.reports is not None
        failure = self.reports.take_failure(phone)
        stamp = "%Y-%m-%d %H:%M:%S"
        self.reports.schedule({
            "phone_number": phone.removeprefix("+86"),
            "send_time": datetime.fromtimestamp(sent_at, SHANGHAI).strftime(stamp),
            "report_time": datetime.fromtimestamp(sent_at + self.reports.delay_ms / 1000, SHANGHAI).strftime(stamp),
            "success": failure is None, "err_code": failure[0] if failure else "DELIVERED",
            "err_msg": failure[1] if failure else "用户接收成功",
            "sms_size": str(1 if len(text) <= 70 else -(-len(text) // 67)), "biz_id": biz_id, "out_id": out_id,
        })

    def add_template(self, code: str, text: str) -> None:
        if not _CODE_RE.match(code) or not text:
            raise ValueError("template_code must look like SMS_123456 and text be non-empty (variables ${name})")
        self.templates[code] = text

    def _refusal(self, params: Mapping[str, str]) -> str | None:
        numbers = params["PhoneNumbers"].split(",")
        if len(numbers) > 1000:
            return "isv.MOBILE_COUNT_OVER_LIMIT"
        if any(mainland_e164(n) is None for n in numbers):
            return "isv.MOBILE_NUMBER_ILLEGAL"
        if params["SignName"] not in self.sign_names:
            return "isv.SMS_SIGNATURE_ILLEGAL"
        template = self.templates.get(params["TemplateCode"])
        if template is None:
            return "isv.SMS_TEMPLATE_ILLEGAL"
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return "isv.INVALID_JSON_PARAM"
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return "isv.INVALID_JSON_PARAM"
        if any(name not in values for name in _VARIABLE_RE.findall(template)):
            return "isv.TEMPLATE_MISSING_PARAMETERS"
        return None

    def _answer(self, code: str, request_id: str) -> dict[str, str]:
        self.answered[code] += 1
        return {"Code": code, "Message": MESSAGES.get(code, code), "RequestId": request_id}

    @staticmethod
    def gateway_fault(fault: Fault) -> AliyunError:
        status = fault.http_status or 503
        code = fault.code or _DEFAULT_FOR_STATUS.get(status, "ServiceUnavailable")
        return AliyunError(status, code, MESSAGES.get(code, code))

    # -- control API ----------------------------------------------------------------------------------------
    def messages(self, phone_e164: str | None) -> list[dict[str, Any]]:
        return [m for m in reversed(self.inbox) if phone_e164 is None or m["phone"] == phone_e164]

    def stats(self) -> dict[str, Any]:
        reports = self.reports.stats() if self.reports is not None else {}
        return {"requests": self.requests, "delivered": len(self.inbox), "answered": dict(self.answered),
                "rejected": dict(self.rejected), "faults_served": self.faults_served,
                "faults_pending": [f.describe() for f in self.faults], "nonces_remembered": len(self.nonces),
                **reports}


def _biz_id() -> str:
    """18 digits and `^0`, as Aliyun's; never with 18/19/20 at digits 7-8, where one would read as a citizen ID
    number (6 region + birth year) to the privacy scan of the tests: about 1 in 1,000 random ones did."""
    while True:
        digits = str(secrets.randbelow(10**17) + 10**17)
        if digits[6:8] not in ("18", "19", "20"):
            return f"{digits}^0"
