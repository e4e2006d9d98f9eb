"""Every rule of a guide, one at a time: each bad input is reported against the field that is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from affairs.departments import Department, make_uscc, uscc_problem
from affairs.form_schema import check_form_schema
from affairs.matter_model import MatterCreate, MatterGuide
from affairs.office_phone import check_office_phone
from core.validation import field_errors
from tests.support.catalogue import demo_guide

BIRTH_CERT = "430182-WJ-0001"


def errors_of(body: dict[str, Any], model: type[MatterGuide] = MatterCreate) -> dict[str, str]:
    """{field: errmsg} of every error, or {} when valid."""
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return {e.field: e.errmsg for e in field_errors(exc)}
    return {}


def with_changes(**changes: Any) -> dict[str, Any]:
    body = demo_guide(BIRTH_CERT)
    body.update(changes)
    return body


def test_a_complete_demo_guide_is_valid() -> None:
    assert errors_of(demo_guide(BIRTH_CERT)) == {}


@pytest.mark.parametrize(("changes", "field", "fragment"), [
    ({"statutory_days": 0}, "statutory_days", "须大于 0"),
    ({"promised_days": -1}, "promised_days", "须大于 0"),
    ({"statutory_days": 5, "promised_days": 6}, "promised_days", "不能超过法定时限"),
    ({"code": "lower-case"}, "code", "格式不正确"),
    ({"consult_phone": "13812345678"}, "consult_phone", "不能填写手机号码"),
    ({"complaint_phone": "87654321"}, "complaint_phone", "区号-号码"),
    ({"life_events": ["chusheng"]}, "life_events.0", "未知的人生事件"),
    ({"themes": ["health", "health"]}, "themes", "不能有重复项"),
    ({"type": "行政处罚"}, "type", "须为以下之一"),
    ({"targets": []}, "targets", "至少需要 1 项"),
    ({"result_ecert_type": "dog_licence"}, "result_ecert_type", "未知的电子证照类型"),
    ({"surprise": 1}, "surprise", "不支持的字段"),
])
def test_each_rule_names_its_field(changes: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_of(with_changes(**changes))
    assert field in errors, errors
    assert fragment in errors[field]


@pytest.mark.parametrize(("fee", "field", "fragment"), [
    ({"free": False, "amount_fen": 12.5, "basis": "某文件"}, "fee.amount_fen", "须为整数"),
    ({"free": False, "amount_fen": 1250.0, "basis": "某文件"}, "fee.amount_fen", "须为整数"),
    ({"free": False, "amount_fen": "1250", "basis": "某文件"}, "fee.amount_fen", "须为整数"),
    ({"free": False, "amount_fen": 0, "basis": "某文件"}, "fee.amount_fen", "须大于 0 分"),
    ({"free": False, "amount_fen": 8000}, "fee.basis", "须写明收费依据"),
    ({"free": True, "amount_fen": 100}, "fee.amount_fen", "免费事项不填写收费金额"),
])
def test_fees_are_integer_fen_with_a_basis(fee: dict[str, Any], field: str, fragment: str) -> None:
    errors = errors_of(with_changes(fee=fee))
    assert fragment in errors.get(field, ""), errors


def test_a_paid_fee_in_fen_is_accepted() -> None:
    guide = MatterCreate.model_validate(with_changes(fee={"free": False, "amount_fen": 8000, "basis": "发改价格规〔2016〕2559号"}))
    assert guide.fee.amount_fen == 8000


def test_material_rules() -> None:
    body = demo_guide(BIRTH_CERT)
    body["materials"][0]["ecert_type"] = "unicorn_certificate"
    body["materials"][1].update(original_count=0, copy_count=0)
    body["materials"][2]["form_file_key"] = "../etc/passwd"
    errors = errors_of(body)
    assert "未知的电子证照类型" in errors["materials.0.ecert_type"]
    assert "不能都为 0" in errors["materials.1.copy_count"]
    assert "materials.2.form_file_key" in errors


def test_channels_and_places_must_fit_the_visits() -> None:
    errors = errors_of(with_changes(online_depth="zero_visit", channels={"online": False, "window": True}))
    assert "须支持网上申请" in errors["channels"]
    errors = errors_of(with_changes(channels={"online": False, "window": False}))
    assert "至少须支持" in errors["channels"]
    errors = errors_of(with_changes(places=[]))
    assert "须列出办理地点" in errors["places"]


def test_every_bad_field_is_listed_at_once() -> None:
    errors = errors_of(with_changes(statutory_days=0, consult_phone="13812345678",
                                    fee={"free": False, "amount_fen": 9.9, "basis": "x"},
                                    form_schema={"type": "object", "properties": {"a": {"type": "strin"}}}))
    assert {"statutory_days", "consult_phone", "fee.amount_fen", "form_schema"} <= set(errors)


@pytest.mark.parametrize(("schema", "fragment"), [
    ({"type": "object", "properties": {"a": {"type": "strin", "title": "姓名"}}}, "不是有效的 JSON Schema"),
    ({"type": "object", "properties": {"a": {"type": "string", "minLength": -1, "title": "姓名"}}}, "不是有效的"),
    ({"type": "array", "items": {"type": "string"}}, "type: object"),
    ({"type": "object", "properties": {}}, "至少列出一个字段"),
    ({"type": "object", "properties": {"name": {"type": "string"}}}, "须有中文标题"),
    ({"type": "object", "properties": {"name": {"type": "string", "title": "Name"}}}, "须有中文标题"),
    ({"type": "object", "properties": {"p": {"type": "object", "title": "人员", "properties": {
        "age": {"type": "integer"}}}}}, "properties.p.properties.age"),
    ({"type": "object", "properties": {"a": {"$ref": "https://evil.example.com/s.json", "title": "外部"}}},
     "不能引用外部定义"),
    ("not a schema", "须为 JSON Schema 对象"),
])
def test_form_schema_must_be_a_valid_json_schema_with_chinese_titles(schema: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace(".", r"\.")):
        check_form_schema(schema)


def test_every_demo_form_schema_passes_the_meta_schema_check() -> None:
    from affairs.demo_catalogue import DEMO_MATTERS

    for raw in DEMO_MATTERS:
        assert check_form_schema(raw["form_schema"]) is raw["form_schema"]


def test_department_codes_are_checked_uscc() -> None:
    code = make_uscc("430182", "00618501")
    assert uscc_problem(code) is None
    assert uscc_problem("91350100M000100Y43") is None  # the example printed in GB 32100
    assert "校验位" in (uscc_problem(code[:-1] + ("1" if code[-1] != "1" else "2")) or "")
    assert uscc_problem("1143018200618501") is not None  # too short
    with pytest.raises(ValidationError):
        Department(code="11430182006185010A", name="某局", kind="公安", region_code="430182",
                   phone="0731-87881110", address="某地")


@pytest.mark.parametrize("number", ["0731-87654321", "010-12345678-123", "12345", "400-123-4567"])
def test_office_phones_are_accepted(number: str) -> None:
    assert check_office_phone(number) == number


@pytest.mark.parametrize("number", ["13812345678", "+86 138 1234 5678", "0731 8765", "phone"])
def test_mobiles_and_junk_are_not_office_phones(number: str) -> None:
    with pytest.raises(ValueError):
        check_office_phone(number)
