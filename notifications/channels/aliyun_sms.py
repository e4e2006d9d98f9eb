"""Aliyun SMS (`dysmsapi` 2017-05-25 `SendSms`) through the official SDK, behind the `SmsSender` interface.

The SDK is synchronous (requests underneath) and signs with ACS3-HMAC-SHA256 in the `Authorization` header; it
runs in the Celery worker only. Its own retry is off: retrying is the task's decision (bounded, with backoff),
and a timeout must surface here as a temporary failure rather than be retried silently inside the SDK.

Aliyun answers business failures with HTTP 200 and `Code: "isv.…"`; gateway failures (signature, throttling,
5xx) arrive as SDK exceptions. Both are mapped onto SmsTemporaryError / SmsPermanentError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import SendSmsRequest
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from darabonba.exceptions import UnretryableException
from darabonba.runtime import RuntimeOptions

from config.settings import Settings
from notifications.channels.sms import (
    LOGIN_CODE,
    SmsError,
    SmsMessage,
    SmsPermanentError,
    SmsResult,
    SmsTemporaryError,
)

PROVIDER = "aliyun"
# Business codes (HTTP 200) worth another try: per-number flow control and Aliyun's own failures.
TEMPORARY_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR"})
# Known to be final; any other `isv.*` is treated the same (our request or account is wrong).
PERMANENT_CODES = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.AMOUNT_NOT_ENOUGH",
    "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL", "isv.INVALID_PARAMETERS", "isv.INVALID_JSON_PARAM",
    "isv.OUT_OF_SERVICE", "isv.DENY_IP_RANGE",
})


def classify(code: str) -> type[SmsError]:
    """The failure class for a non-OK `Code`: `isp.*` (Aliyun's side) and flow control are temporary."""
    if code in TEMPORARY_CODES or code.startswith(("isp.", "Throttling")) or code == "ServiceUnavailable":
        return SmsTemporaryError
    return SmsPermanentError


def provider_number(phone_e164: str) -> str:
    """Aliyun wants mainland numbers as their 11 digits and others as country code + number, no `+`."""
    return phone_e164.removeprefix("+86") if phone_e164.startswith("+86") else phone_e164.lstrip("+")


class AliyunSms:
    name = PROVIDER

    def __init__(self, client: Client, *, sign_name: str, templates: Mapping[str, str], timeout_s: float) -> None:
        self._client = client
        self._sign_name = sign_name
        self._templates = dict(templates)
        timeout_ms = int(timeout_s * 1000)
        self._runtime = RuntimeOptions(autoretry=False, read_timeout=timeout_ms, connect_timeout=timeout_ms)

    @classmethod
    def from_settings(cls, settings: Settings, *, templates: Mapping[str, str] | None = None) -> AliyunSms:
        """`templates`: more logical names → TemplateCode (the notification templates) besides the login code."""
        config = open_api_models.Config(
            endpoint=settings.sms_aliyun_endpoint,
            protocol=settings.sms_aliyun_protocol,
            access_key_id=settings.sms_aliyun_access_key_id,
            access_key_secret=settings.sms_aliyun_access_key_secret.get_secret_value(),
        )
        return cls(Client(config), sign_name=settings.sms_sign_name,
                   templates={**(templates or {}), LOGIN_CODE: settings.sms_template_login},
                   timeout_s=settings.sms_timeout_s)

    def send(self, message: SmsMessage) -> SmsResult:
        template_code = self._templates.get(message.template)
        if template_code is None:
            raise SmsPermanentError(PROVIDER, "UNKNOWN_TEMPLATE", f"no Aliyun template for {message.template!r}")
        request = SendSmsRequest(
            phone_numbers=provider_number(message.phone_e164),
            sign_name=self._sign_name,
            template_code=template_code,
            template_param=json.dumps(dict(message.params), ensure_ascii=False, separators=(",", ":")),
            out_id=message.reference,
        )
        try:
            body = self._client.send_sms_with_options(request, self._runtime).body
        except (ThrottlingException, ServerException) as exc:
            raise SmsTemporaryError(PROVIDER, str(exc.code), _short(exc.message), exc.request_id or "") from None
        except ClientException as exc:  # 4xx from the gateway: signature, unknown key, throttling, bad request
            error = classify(str(exc.code))
            raise error(PROVIDER, str(exc.code), _short(exc.message), exc.request_id or "") from None
        except UnretryableException as exc:  # connection refused, timeout, unreadable answer
            raise SmsTemporaryError(PROVIDER, "NETWORK", type(exc.inner_exception).__name__) from None
        if body is None or body.code is None:
            raise SmsTemporaryError(PROVIDER, "EMPTY_RESPONSE", "SendSms answered without a Code")
        if body.code != "OK":
            raise classify(body.code)(PROVIDER, body.code, _short(body.message), body.request_id or "")
        return SmsResult(PROVIDER, body.biz_id or "", body.request_id or "")


def _short(text: str | None) -> str:
    """Provider messages can echo the whole string-to-sign (with our query): keep the first line, bounded."""
    return (text or "").splitlines()[0][:200] if text else ""
