"""The provider-neutral SMS interface every SMS adapter implements.

Callers name a logical template (`LOGIN_CODE`) with named parameters; each adapter maps the name to its own
template id (Aliyun `SMS_…`, Tencent a numeric id with positional parameters). Failures are split by what the
caller should do: `SmsTemporaryError` → retry later or fail over to another provider; `SmsPermanentError` → the
same message will never go through (bad number, bad template, no balance): log it and stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from core.masking import mask_phone

LOGIN_CODE = "login_code"  # a verification code: one parameter, `code`


@dataclass(frozen=True, slots=True, repr=False)
class SmsMessage:
    phone_e164: str  # +8613800000001
    template: str  # a logical template name such as LOGIN_CODE
    params: Mapping[str, str] = field(default_factory=dict)
    reference: str | None = None  # our id for delivery reports (Aliyun OutId)

    def __repr__(self) -> str:  # never the number or the parameters (a login code), even in a traceback
        return f"SmsMessage({mask_phone(self.phone_e164)!r}, {self.template!r})"


@dataclass(frozen=True, slots=True)
class SmsResult:
    provider: str
    biz_id: str  # the provider's id of this send, for delivery reports
    request_id: str = ""


class SmsError(Exception):
    """A refused or failed send. `code` is the provider's own code (e.g. `isv.MOBILE_NUMBER_ILLEGAL`)."""

    def __init__(self, provider: str, code: str, message: str = "", request_id: str = "") -> None:
        super().__init__(f"{provider}: {code} {message}".strip())
        self.provider, self.code, self.message, self.request_id = provider, code, message, request_id


class SmsTemporaryError(SmsError):
    """Throttled, provider 5xx, timeout or connection failure: the same send may succeed later."""


class SmsPermanentError(SmsError):
    """Illegal number, template or sign problem, missing parameters, no balance, bad credentials: never retry."""


class SmsSender(Protocol):
    name: str

    def send(self, message: SmsMessage) -> SmsResult:
        """Send one message, or raise SmsTemporaryError / SmsPermanentError. Blocking: call from a worker."""
        ...
