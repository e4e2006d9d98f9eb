"""Tencent Cloud SMS (`SendSms` 2021-01-11) through the official SDK, behind the `SmsSender` interface: the second
SMS provider, for failover.

The SDK is synchronous (requests underneath) and signs with TC3-HMAC-SHA256; it runs in the Celery worker only,
like the Aliyun adapter. Its retryer is left off (retrying is the task's decision). Tencent's templates take
positional parameters (`{1}`, `{2}`), so each logical template maps to a TemplateId plus the names of its
parameters in order (setting ZSB_SMS_TENCENT_TEMPLATES: `{"login_code": "1000001:code"}`).

Failures come two ways: the whole request refused (`Response.Error`, raised by the SDK: signature, app id,
sign name, template…) or one number refused inside a 200 answer (`SendStatusSet[].Code`: bad number, per-number
limits). Both map onto SmsTemporaryError (throttling, Tencent's internal errors, network) or SmsPermanentError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111.models import SendSmsRequest
from tencentcloud.sms.v20210111.sms_client import SmsClient

from config.settings import Settings
from notifications.channels.sms import SmsError, SmsMessage, SmsPermanentError, SmsResult, SmsTemporaryError

PROVIDER = "tencent"
OK = "Ok"
# Throttling and Tencent's own failures may pass later (or at the other provider) …
TEMPORARY_PREFIXES = ("LimitExceeded.", "InternalError.", "RequestLimitExceeded.")
TEMPORARY_CODES = frozenset({"LimitExceeded", "InternalError", "RequestLimitExceeded", "ResourceUnavailable"})
# … except these, which describe our request or our account and fail the same way every time.
PERMANENT_EXCEPTIONS = frozenset({
    "LimitExceeded.PhoneNumberCountLimit", "LimitExceeded.AppCountryOrRegionInBlacklist",
    "InternalError.SigFieldMissing", "InternalError.SigVerificationFail", "InternalError.RestApiInterfaceNotExist",
})
# What the SDK raises when no usable answer came back: connection refused, timeout, non-200, unreadable body.
NETWORK_CODES = frozenset({"ClientNetworkError", "ServerNetworkError", "ConnectionError", "ReadTimeout",
                           "ChunkedEncodingError", "JSONDecodeError"})
_TEMPLATE_SPEC = re.compile(r"(\d{1,20})(?::([A-Za-z_]\w*(?:,[A-Za-z_]\w*)*)?)?")


@dataclass(frozen=True, slots=True)
class TencentTemplate:
    template_id: str
    params: tuple[str, ...]  # our parameter names in Tencent's order: params[0] fills {1}


def parse_templates(spec: Mapping[str, str]) -> dict[str, TencentTemplate]:
    """`{"login_code": "1000001:code"}` → {"login_code": TencentTemplate("1000001", ("code",))}."""
    templates: dict[str, TencentTemplate] = {}
    for name, value in spec.items():
        match = _TEMPLATE_SPEC.fullmatch(value.strip())
        if match is None:
            raise ValueError(f"Tencent template {name!r}: expected `TemplateId:param1,param2`, got {value!r}")
        templates[name] = TencentTemplate(match[1], tuple(match[2].split(",")) if match[2] else ())
    return templates


def classify(code: str) -> type[SmsError]:
    """The failure class for a code that is not `Ok`."""
    if code in PERMANENT_EXCEPTIONS:
        return SmsPermanentError
    if code in NETWORK_CODES or code in TEMPORARY_CODES or code.startswith(TEMPORARY_PREFIXES):
        return SmsTemporaryError
    return SmsPermanentError


class TencentSms:
    name = PROVIDER

    def __init__(self, client: SmsClient, *, sdk_app_id: str, sign_name: str,
                 templates: Mapping[str, TencentTemplate]) -> None:
        self._client = client
        self._sdk_app_id = sdk_app_id
        self._sign_name = sign_name
        self._templates = dict(templates)

    @classmethod
    def from_settings(cls, settings: Settings, *, templates: Mapping[str, TencentTemplate] | None = None
                      ) -> TencentSms:
        """`templates`: more logical names (the notification templates) besides ZSB_SMS_TENCENT_TEMPLATES."""
        credential = Credential(settings.sms_tencent_secret_id, settings.sms_tencent_secret_key.get_secret_value())
        http = HttpProfile(protocol=settings.sms_tencent_protocol, endpoint=settings.sms_tencent_endpoint,
                           reqTimeout=settings.sms_timeout_s)
        client = SmsClient(credential, settings.sms_tencent_region, ClientProfile(httpProfile=http))
        return cls(client, sdk_app_id=settings.sms_tencent_sdk_app_id, sign_name=settings.sms_tencent_sign_name,
                   templates={**(templates or {}), **parse_templates(settings.sms_tencent_templates)})

    def send(self, message: SmsMessage) -> SmsResult:
        template = self._templates.get(message.template)
        if template is None:
            raise SmsPermanentError(PROVIDER, "UNKNOWN_TEMPLATE", f"no Tencent template for {message.template!r}")
        missing = [name for name in template.params if name not in message.params]
        if missing:
            raise SmsPermanentError(PROVIDER, "MISSING_PARAMETERS", f"{message.template}: no value for {missing}")
        request = SendSmsRequest()
        request.PhoneNumberSet = [message.phone_e164]
        request.SmsSdkAppId = self._sdk_app_id
        request.SignName = self._sign_name
        request.TemplateId = template.template_id
        request.TemplateParamSet = [str(message.params[name]) for name in template.params]
        if message.reference:
            request.SessionContext = message.reference  # echoed in the answer: ties it to our message
        try:
            response = self._client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "UNKNOWN")
            error = classify(code)
            shown = "NETWORK" if code in NETWORK_CODES else code
            raise error(PROVIDER, shown, _short(exc.get_message()), str(exc.get_request_id() or "")) from None
        statuses = response.SendStatusSet or []
        request_id = str(response.RequestId or "")
        if len(statuses) != 1 or statuses[0].Code is None:
            raise SmsTemporaryError(PROVIDER, "EMPTY_RESPONSE", "SendSms answered without a status", request_id)
        status = statuses[0]
        if status.Code != OK:
            raise classify(status.Code)(PROVIDER, status.Code, _short(status.Message), request_id)
        return SmsResult(PROVIDER, str(status.SerialNo or ""), request_id)


def _short(text: object) -> str:
    """Provider messages may be a whole HTML error page (bytes): keep the first line, bounded."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = str(text or "").strip().splitlines()
    return lines[0][:200] if lines else ""
