import pytest

from accounts.phone import CnMobile, PhoneInvalid, parse_cn_mobile, phone_app_error
from core.pii import normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "8613812345678",
        "008613812345678",
        "+8613812345678",
        "138-1234-5678",
        "(+86) 138 1234 5678",
        " １３８１２３４５６７８ ",  # full-width digits from a Chinese IME
    ],
)
def test_accepted_forms_give_e164(raw: str) -> None:
    phone = parse_cn_mobile(raw)
    assert phone == CnMobile("+8613812345678")
    assert phone.national == "13812345678"
    assert phone.masked == "138****5678"
    assert repr(phone) == "CnMobile('138****5678')"
    assert normalise_phone(raw) == phone.e164  # the blind index sees the same value that is stored


@pytest.mark.parametrize("raw", ["19912345678", "17012345678", "14512345678", "15900001111"])
def test_other_mobile_prefixes(raw: str) -> None:
    assert parse_cn_mobile(raw).e164 == "+86" + raw


@pytest.mark.parametrize(
    ("raw", "rule", "message"),
    [
        ("010-12345678", "NOT_MOBILE", "不支持固定电话"),
        ("02112345678", "NOT_MOBILE", "不支持固定电话"),
        ("+86 10 1234 5678", "NOT_MOBILE", "不支持固定电话"),
        ("4001234567", "NOT_MOBILE", "不支持固定电话"),
        ("+1 650 253 0000", "NOT_CN", "仅支持中国大陆手机号码"),
        ("+85291234567", "NOT_CN", "仅支持中国大陆手机号码"),
        ("1381234567", "LENGTH", "应为 11 位"),
        ("138123456789", "LENGTH", "应为 11 位"),
        ("+86 138 1234 567", "LENGTH", "应为 11 位"),
        ("12345678901", "FORMAT", "不是有效的手机号码"),
        ("010-1234567", "FORMAT", "不是有效的手机号码"),
        ("1380013800a", "FORMAT", "只能包含数字"),
        ("++8613812345678", "FORMAT", "只能包含数字"),
        ("  ", "FORMAT", "请填写手机号码"),
        ("+86", "FORMAT", "格式不正确"),
    ],
)
def test_rejected(raw: str, rule: str, message: str) -> None:
    with pytest.raises(PhoneInvalid) as caught:
        parse_cn_mobile(raw)
    assert caught.value.rule == rule
    assert message in caught.value.message_zh and str(caught.value) == caught.value.message_zh


def test_app_error() -> None:
    with pytest.raises(PhoneInvalid) as caught:
        parse_cn_mobile("010-12345678")
    error = phone_app_error(caught.value)
    assert (error.error.code, error.status) == ("PHONE_INVALID", 422)
    assert error.message == "请填写手机号码，不支持固定电话等其他号码"
    assert [e.as_dict() for e in error.errors] == [
        {
            "field": "phone",
            "errcode": "PHONE_NOT_MOBILE",
            "errmsg": "请填写手机号码，不支持固定电话等其他号码",
        }
    ]
