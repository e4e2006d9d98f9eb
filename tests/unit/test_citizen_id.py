from datetime import date

import pytest

from accounts.citizen_id import (
    CitizenId,
    CitizenIdInvalid,
    check_digit,
    citizen_id_app_error,
    make_citizen_id,
    parse_citizen_id,
    region_name,
)
from core.errors import REGISTRY

TODAY = date(2025, 6, 1)


def parse(raw: str) -> CitizenId:
    return parse_citizen_id(raw, today=TODAY)


def rule_of(raw: str) -> tuple[str, str]:
    with pytest.raises(CitizenIdInvalid) as caught:
        parse(raw)
    return caught.value.rule, caught.value.message_zh


def test_make_citizen_id_computes_check_digit() -> None:
    assert make_citizen_id(region="110101", birth=date(1990, 3, 7), sequence=777) == "110101199003077774"
    assert make_citizen_id(region="110105", birth="19491231", sequence=2) == "11010519491231002X"
    assert check_digit("32040219900101123") == "9"
    with pytest.raises(ValueError):
        make_citizen_id(region="1101", birth=date(1990, 3, 7))
    with pytest.raises(ValueError):
        make_citizen_id(sequence=1000)


def test_valid_number_is_described() -> None:
    person = parse("110101199003077774")
    assert person == CitizenId(
        number="110101199003077774",
        birth_date=date(1990, 3, 7),
        gender="M",  # sequence 777 is odd
        region_code="110101",
        region_name="北京市东城区",
    )
    assert person.masked == "110101********7774"
    assert "19900307" not in repr(person) and "110101********7774" in repr(person)


def test_check_digit_x_and_lower_case_x() -> None:
    upper = parse("11010519491231002X")
    assert (upper.number, upper.gender, upper.birth_date) == ("11010519491231002X", "F", date(1949, 12, 31))
    assert upper.region_name == "北京市朝阳区"
    assert parse(" 110105 19491231 002x ").number == "11010519491231002X"
    # full-width input from a Chinese IME
    assert parse("１１０１０５１９４９１２３１００２ｘ").number == "11010519491231002X"


def test_region_names_use_the_stdnum_table() -> None:
    assert parse(make_citizen_id("320402", date(1985, 5, 5), 124)).region_name == "江苏省常州市天宁区"
    assert parse(make_citizen_id("440304", date(2000, 1, 1), 1)).region_name == "广东省深圳市福田区"
    assert region_name("810000", 1990) == "香港特别行政区"
    assert region_name("830000", 1990) == "台湾地区"  # Taiwan residents' residence permit, not in the table


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("11010119900307777", "应为 18 位，当前为 17 位"),
        ("1101011990030777741", "应为 18 位，当前为 19 位"),
        ("", "应为 18 位，当前为 0 位"),
        ("110101900307777", "应为 18 位，当前为 15 位"),  # the pre-1999 15-digit form
        ("11010119900307777Y", "只能由数字组成"),
        ("1101011990O307777X", "只能由数字组成"),
        ("X10101199003077774", "只能由数字组成"),
    ],
)
def test_format_rule(raw: str, message: str) -> None:
    rule, text = rule_of(raw)
    assert rule == "FORMAT" and message in text


def test_checksum_rule() -> None:
    assert rule_of("110101199003077775") == ("CHECKSUM", "身份证号码校验位不正确，请核对每一位数字")
    assert rule_of("110101199003077771")[0] == "CHECKSUM"
    assert rule_of("110101199003067774")[0] == "CHECKSUM"  # one mistyped digit in the body


@pytest.mark.parametrize(
    ("birth", "message"),
    [
        ("19900230", "不是有效日期"),
        ("19901301", "不是有效日期"),
        ("19900000", "不是有效日期"),
        ("20250602", "晚于今天"),
        ("20991231", "晚于今天"),
        ("18991231", "早于 1900 年"),
    ],
)
def test_birth_date_rule(birth: str, message: str) -> None:
    rule, text = rule_of(make_citizen_id("110101", birth, 777))
    assert rule == "BIRTH_DATE" and message in text


def test_birth_date_edges() -> None:
    assert parse(make_citizen_id("110101", "20250601", 1)).birth_date == TODAY  # born today
    assert parse(make_citizen_id("110101", "19000101", 1)).birth_date == date(1900, 1, 1)
    assert parse(make_citizen_id("110101", "20000229", 1)).birth_date == date(2000, 2, 29)


def test_default_today_is_shanghai_date() -> None:
    assert parse_citizen_id(make_citizen_id("110101", "19900307", 777)).birth_date == date(1990, 3, 7)
    with pytest.raises(CitizenIdInvalid):
        parse_citizen_id(make_citizen_id("110101", "20991231", 777))


@pytest.mark.parametrize(
    ("region", "birth"),
    [
        ("990101", "19900307"),  # no such province
        ("119999", "19900307"),  # province known, county not (stdnum's own lookup raises KeyError here)
        ("110103", "20150101"),  # 崇文区, abolished in 2010: no number can be assigned after that
    ],
)
def test_region_rule(region: str, birth: str) -> None:
    assert rule_of(make_citizen_id(region, birth, 777)) == ("REGION", "身份证号码前 6 位地区代码不存在")


def test_region_created_after_birth_is_accepted() -> None:
    # 通州区 (110112) exists since 1997; people born earlier got their numbers later.
    person = parse(make_citizen_id("110112", "19800101", 11))
    assert person.region_name == "北京市通州区"
    assert parse(make_citizen_id("110103", "19800101", 11)).region_name == "北京市崇文区"


def test_app_error_says_which_rule_failed() -> None:
    with pytest.raises(CitizenIdInvalid) as caught:
        parse("110101199003077775")
    error = citizen_id_app_error(caught.value, field="applicant.id_number")
    assert (error.error.code, error.status, error.message) == (
        "CITIZEN_ID_INVALID",
        422,
        "身份证号码校验位不正确，请核对每一位数字",
    )
    assert [e.as_dict() for e in error.errors] == [
        {
            "field": "applicant.id_number",
            "errcode": "CITIZEN_ID_CHECKSUM",
            "errmsg": "身份证号码校验位不正确，请核对每一位数字",
        }
    ]
    assert REGISTRY["CITIZEN_ID_INVALID"].status == 422
    assert isinstance(caught.value, ValueError) and str(caught.value) == caught.value.message_zh
