"""Mainland China mobile numbers: the only phones we accept for SMS codes and notifications.

Parsing is done by `phonenumbers` (current numbering plan: new prefixes such as 19x stay valid without code
changes); we add Chinese messages that say what is wrong and return the E.164 form that is stored (encrypted)
and blind-indexed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from accounts.errors import PHONE_INVALID
from core.errors import AppError
from core.masking import mask_phone
from core.validation import RuleViolation

PhoneRule = Literal["FORMAT", "LENGTH", "NOT_CN", "NOT_MOBILE"]

# Digits with the separators people type; letters (phonenumbers would read them as a keypad) are refused.
_ALLOWED_RE = re.compile(r"[+\d\s().-]+")


class PhoneInvalid(RuleViolation):
    """Which rule failed (`rule`: FORMAT, LENGTH, NOT_CN or NOT_MOBILE) and why, in Chinese."""

    prefix = "PHONE"
    default_field = "phone"
    error = PHONE_INVALID
    rule: PhoneRule


@dataclass(frozen=True, slots=True, repr=False)
class CnMobile:
    e164: str  # +8613812345678: what is encrypted, indexed and sent to SMS providers

    @property
    def national(self) -> str:
        """The 11 digits residents write: 13812345678."""
        return self.e164.removeprefix("+86")

    @property
    def masked(self) -> str:
        return mask_phone(self.national)

    def __repr__(self) -> str:  # never the full number, even in a traceback
        return f"CnMobile({self.masked!r})"


def parse_cn_mobile(raw: str) -> CnMobile:
    """Accept `13812345678`, `138 1234 5678`, `+86 138 1234 5678`, `8613812345678`, `008613812345678`;
    refuse landlines, numbers of other countries and regions (Hong Kong and Macao included) and wrong lengths."""
    text = unicodedata.normalize("NFKC", raw).strip()  # full-width digits from a Chinese IME
    if not text:
        raise PhoneInvalid("FORMAT", "请填写手机号码")
    if not _ALLOWED_RE.fullmatch(text) or text.count("+") > 1:
        raise PhoneInvalid("FORMAT", "手机号码只能包含数字")
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise PhoneInvalid("FORMAT", "手机号码格式不正确") from None
    if number.country_code != 86:
        raise PhoneInvalid("NOT_CN", "仅支持中国大陆手机号码")
    national = phonenumbers.national_significant_number(number)
    if phonenumbers.is_valid_number(number):
        if phonenumbers.number_type(number) != PhoneNumberType.MOBILE:
            raise PhoneInvalid("NOT_MOBILE", "请填写手机号码，不支持固定电话等其他号码")
        return CnMobile(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    digits = re.sub(r"\D", "", text)
    typed_trunk_zero = digits.endswith("0" + national)  # 010-1234567: a (bad) landline, not a short mobile
    if national.startswith("1") and len(national) != 11 and not typed_trunk_zero:
        raise PhoneInvalid("LENGTH", "手机号码应为 11 位数字")
    raise PhoneInvalid("FORMAT", "不是有效的手机号码，请核对后重新填写")


def phone_app_error(exc: PhoneInvalid, field: str = "phone") -> AppError:
    """The HTTP error for a bad phone number: `PHONE_INVALID` with the field error `PHONE_<RULE>`."""
    return exc.app_error(field)
