"""Delivery reports (status callbacks) of the SMS providers, parsed into one provider-neutral shape.

Both providers POST a JSON array, possibly of several reports, to the URL configured in their console; each
report names the send by the id the send returned (`SmsResult.biz_id`: Aliyun `biz_id`, Tencent `sid` =
SerialNo). Their times are Beijing time without a zone; here they become aware UTC. Parsing is pure: the HTTP
endpoint that receives the reports (and answers with `ALIYUN_ACK` / `TENCENT_ACK`, without which the provider
posts again) belongs to the notification pipeline. A report that cannot be read raises DeliveryReportError
(answer 400: the provider resends, and the log shows why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from core.masking import mask_phone
from core.pii import normalise_phone

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALIYUN_ACK: dict[str, Any] = {"code": 0, "msg": "接收成功"}
TENCENT_ACK: dict[str, Any] = {"result": 0, "errmsg": "OK"}
ALIYUN_DELIVERED = "DELIVERED"
TENCENT_DELIVERED = "DELIVRD"


class DeliveryReportError(ValueError):
    """The body is not a list of reports in the provider's format; the message says what is wrong."""


@dataclass(frozen=True, slots=True, repr=False)
class DeliveryReport:
    provider: Literal["aliyun", "tencent"]
    provider_id: str  # the send's id at the provider: SmsResult.biz_id
    phone_e164: str
    delivered: bool
    code: str  # DELIVERED / DELIVRD on success, else the carrier's code (e.g. MK:0001)
    description: str
    reported_at: datetime  # aware UTC: when the phone received it, or when the carrier gave up
    sent_at: datetime | None = None
    reference: str | None = None  # our id sent with the message (Aliyun OutId); Tencent does not return one
    parts: int | None = None  # billed parts of a long message (Aliyun sms_size)

    def __repr__(self) -> str:  # never the full number, even in a traceback
        return (f"DeliveryReport({self.provider!r}, {self.provider_id!r}, {mask_phone(self.phone_e164)!r}, "
                f"delivered={self.delivered}, code={self.code!r})")


class _AliyunReport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    phone_number: str = Field(min_length=5, max_length=32)
    send_time: str | None = None
    report_time: str
    success: bool
    err_code: str = Field(min_length=1, max_length=64)
    err_msg: str = ""
    sms_size: int | None = Field(None, ge=1)  # sent as a string ("1"), coerced
    biz_id: str = Field(min_length=1, max_length=128)
    out_id: str | None = None


class _TencentReport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user_receive_time: str
    nationcode: str = "86"
    mobile: str = Field(min_length=5, max_length=32)
    report_status: Literal["SUCCESS", "FAIL"]
    errmsg: str = Field(min_length=1, max_length=64)
    description: str = ""
    sid: str = Field(min_length=1, max_length=128)


_ALIYUN = TypeAdapter(list[_AliyunReport])
_TENCENT = TypeAdapter(list[_TencentReport])


def parse_aliyun_reports(body: bytes | str) -> list[DeliveryReport]:
    """Aliyun SmsReport: `[{phone_number, send_time, report_time, success, err_code, err_msg, sms_size, biz_id,
    out_id}]`."""
    reports = _validate(_ALIYUN, body, "aliyun")
    return [
        DeliveryReport(
            provider="aliyun", provider_id=r.biz_id, phone_e164=_phone(r.phone_number, "86"),
            delivered=r.success and r.err_code == ALIYUN_DELIVERED, code=r.err_code, description=r.err_msg,
            reported_at=_beijing(r.report_time), sent_at=_beijing(r.send_time) if r.send_time else None,
            reference=r.out_id or None, parts=r.sms_size,
        )
        for r in reports
    ]


def parse_tencent_reports(body: bytes | str) -> list[DeliveryReport]:
    """Tencent status callback: `[{user_receive_time, nationcode, mobile, report_status, errmsg, description,
    sid}]`."""
    reports = _validate(_TENCENT, body, "tencent")
    return [
        DeliveryReport(
            provider="tencent", provider_id=r.sid, phone_e164=_phone(r.mobile, r.nationcode),
            delivered=r.report_status == "SUCCESS", code=r.errmsg, description=r.description,
            reported_at=_beijing(r.user_receive_time),
        )
        for r in reports
    ]


def _validate(adapter: TypeAdapter[Any], body: bytes | str, provider: str) -> list[Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise DeliveryReportError(f"{provider} report: not JSON") from exc
    if isinstance(data, dict):  # a single report not wrapped in an array: accept it as a list of one
        data = [data]
    try:
        return list(adapter.validate_python(data))
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise DeliveryReportError(f"{provider} report: {where}") from None


def _phone(number: str, nationcode: str) -> str:
    digits = number.strip()
    if not digits.startswith("+"):
        digits = f"+{nationcode.strip().lstrip('+') or '86'}{digits}"
    try:
        return normalise_phone(digits)
    except ValueError:
        raise DeliveryReportError("report names no valid phone number") from None


def _beijing(text: str) -> datetime:
    """`2024-05-01 15:30:00` (Beijing time, as both providers write it) → aware UTC."""
    try:
        local = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise DeliveryReportError(f"report time {text!r} is not YYYY-MM-DD HH:MM:SS") from None
    return local.replace(tzinfo=SHANGHAI).astimezone(UTC)
