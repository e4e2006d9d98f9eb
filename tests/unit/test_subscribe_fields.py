"""Subscribe-message field rules: kinds by key, what each kind accepts, honest fitting, and agreement with the
simulator's independent reading of the same rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.wechat_field_rules import field_problem
from wechat.subscribe_fields import FieldValueError, amount_from_fen, fit, fit_data, kind_of, violation


@pytest.mark.parametrize(("key", "kind"), [
    ("thing1", "thing"), ("thing12", "thing"), ("character_string3", "character_string"), ("phrase2", "phrase"),
    ("phone_number4", "phone_number"), ("car_number5", "car_number"), ("number6", "number"), ("name7", "name"),
    ("date", "date"), ("amount", "amount"), ("time20", "time"), ("letter1", "letter"), ("symbol1", "symbol"),
])
def test_kind_of_key(key: str, kind: str) -> None:
    assert kind_of(key) == kind


@pytest.mark.parametrize("key", ["keyword1", "first", "Thing1", "thing_1", "", "enum1"])
def test_unknown_kinds_are_refused(key: str) -> None:
    with pytest.raises(FieldValueError) as caught:
        kind_of(key)
    assert caught.value.problems[key].startswith("unknown field kind")


VALID = [
    ("thing1", "出生医学证明首次签发"), ("thing1", "x" * 20), ("thing1", "材料：身份证、户口簿（原件）"),
    ("number1", "42"), ("number1", "3.14"), ("number1", "9" * 32),
    ("letter1", "ABCdef"), ("symbol1", "+-*/"), ("symbol1", "……"),
    ("character_string1", "ZSB20240501000123"), ("character_string1", "A-1_b/2#" + "9" * 24),
    ("time1", "15:01"), ("time1", "2019年10月1日 15:01"), ("time1", "2024-05-01 09:30:00"),
    ("time1", "2024年5月1日 15:01~2024年5月1日 16:00"), ("time1", "09:00 ~ 17:30"),
    ("date1", "2019年10月1日"), ("date1", "2024-05-01"), ("date1", "2024/5/1 15:01"), ("date1", "2024-05-01~2024-05-03"),
    ("amount1", "¥12.50"), ("amount1", "￥100元"), ("amount1", "$1234567890"),
    ("phone_number1", "+86-0766-66888866"), ("phone_number1", "138****5678"),
    ("car_number1", "粤A8Z888挂"), ("car_number1", "湘A12345"),
    ("name1", "王芳"), ("name1", "买买提·艾力"), ("name1", "王*"), ("name1", "欧阳晓东"), ("name1", "John Smith"),
    ("phrase1", "已受理"), ("phrase1", "审核未通过"),
]
INVALID = [
    ("thing1", "x" * 21), ("thing1", ""), ("thing1", "   "), ("thing1", "a\x00b"), ("thing1", "line\nbreak"),
    ("number1", "9" * 33), ("number1", "-1"), ("number1", "1,000"), ("number1", "一"),
    ("letter1", "abc1"), ("letter1", "a" * 33), ("symbol1", "!!!!!!"), ("symbol1", "a!"),
    ("character_string1", "A" * 33), ("character_string1", "编号123"), ("character_string1", "AB 12"),
    ("time1", "5月1日"), ("time1", "25:00"), ("time1", "2024-02-30 10:00"), ("time1", "明天上午"),
    ("date1", "2024-13-01"), ("date1", "10:00"), ("date1", "2024年2月30日"),
    ("amount1", "12.50"), ("amount1", "¥12345678901"), ("amount1", "¥¥1"), ("amount1", "¥12.5元整"),
    ("phone_number1", "1" * 18), ("phone_number1", "tel:123"),
    ("car_number1", "粤A8Z888挂车"), ("car_number1", "粤A-8Z888"),
    ("name1", "一二三四五六七八九十一"), ("name1", "A" * 21), ("name1", "王2"),
    ("phrase1", "Accepted"), ("phrase1", "已受理a"), ("phrase1", "审核未通过原因"),
]


@pytest.mark.parametrize(("key", "value"), VALID)
def test_valid_values_pass_both_readings(key: str, value: str) -> None:
    assert violation(key, value) is None
    assert field_problem(key, value) is None
    assert fit(key, value) == value


@pytest.mark.parametrize(("key", "value"), INVALID)
def test_invalid_values_fail_both_readings(key: str, value: str) -> None:
    assert violation(key, value) is not None
    assert field_problem(key, value) is not None


def test_free_text_is_cut_visibly_within_the_limit() -> None:
    long_thing = "出生医学证明首次签发及户口登记一件事联办申请"
    fitted = fit("thing1", long_thing)
    assert fitted == long_thing[:19] + "…" and len(fitted) == 20
    assert fit("thing2", "  材料  \n  齐全 ") == "材料 齐全"  # whitespace controls become one space, ends trimmed
    fitted_id = fit("character_string2", "ZSB-" + "0123456789" * 4)
    assert fitted_id == ("ZSB-" + "0123456789" * 4)[:29] + "..." and len(fitted_id) == 32
    for value in (fitted, fitted_id):
        assert field_problem("thing1" if value is fitted else "character_string2", value) is None


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("phrase3", "Accepted", "Chinese characters only"),
    ("phrase3", "审核未通过原因", "at most 5 characters"),  # a status word is never cut: the cut would lie
    ("number1", "1" * 33, "at most 32 digits"),
    ("amount1", "¥12345678901", "at most 10 digits"),
    ("time4", "下周一", "24-hour time"),
    ("name2", "Alexander Maximilian Schmidt", "at most 20 characters"),
    ("character_string2", "办件编号" * 10, "no Chinese"),  # too long AND never valid: the cut cannot help
    ("thing1", "", "empty"),
    ("thing1", "bad\x07bell", "control characters"),
])
def test_values_that_can_never_fit_raise_a_clear_error(key: str, value: str, reason: str) -> None:
    with pytest.raises(FieldValueError) as caught:
        fit(key, value)
    assert list(caught.value.problems) == [key] and reason in caught.value.problems[key]


def test_typed_values_are_written_in_beijing_time() -> None:
    moment = datetime(2024, 4, 30, 23, 5, tzinfo=UTC)
    assert fit("time4", moment) == "2024年5月1日 07:05"
    assert fit("date4", moment.astimezone(timezone(timedelta(hours=-5)))) == "2024年5月1日 07:05"
    assert fit("date4", date(2024, 5, 1)) == "2024年5月1日"
    assert fit("number1", 1234) == "1234" and fit("number1", Decimal("12.50")) == "12.50"
    assert fit("character_string2", 20240501) == "20240501"
    for key, value in [("time4", datetime(2024, 5, 1, 7, 5)), ("time4", date(2024, 5, 1)), ("phrase3", 1),
                       ("amount1", 1250), ("number1", True)]:
        with pytest.raises(FieldValueError):
            fit(key, value)  # naive datetime, date for a time, numbers where text is meant, booleans


def test_amounts_from_integer_fen() -> None:
    assert amount_from_fen(123456) == "¥1234.56" and amount_from_fen(5) == "¥0.05"
    assert field_problem("amount1", amount_from_fen(99_999_999_99)) is None
    with pytest.raises(FieldValueError):
        amount_from_fen(-1)


def test_fit_data_reports_every_bad_key_at_once() -> None:
    fitted = fit_data({"thing1": "出生医学证明首次签发及户口登记一件事联办申请", "phrase3": "已受理"})
    assert fitted == {"thing1": "出生医学证明首次签发及户口登记一件事联…", "phrase3": "已受理"}
    with pytest.raises(FieldValueError) as caught:
        fit_data({"thing1": "ok", "phrase3": "Accepted", "time4": "soon", "keyword1": "x"})
    assert set(caught.value.problems) == {"phrase3", "time4", "keyword1"}
    assert "phrase3:" in str(caught.value) and "keyword1:" in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(["thing1", "character_string2", "phrase3", "name4", "number5", "time6", "amount7"]),
       text=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60))
def test_whatever_fit_returns_the_simulator_accepts(key: str, text: str) -> None:
    """For any text: `fit` either raises, or returns a value the independent reading accepts (never an invalid one)."""
    try:
        fitted = fit(key, text)
    except FieldValueError:
        return
    assert field_problem(key, fitted) is None, (key, text, fitted)
