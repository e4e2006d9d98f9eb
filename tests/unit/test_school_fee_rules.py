"""Pure rules of school fees: the fee item's joint review, checking roster rows, reading the roster workbook,
the bills workbook, link codes."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from pydantic import ValidationError

from accounts.citizen_id import make_citizen_id
from payments.bill_export import HEADERS, build_bills_workbook, safe_title
from payments.fee_item_model import (
    ALLOWED,
    Action,
    Decision,
    FeeItemIn,
    FeeItemState,
    Side,
    TransitionRefused,
    check_allowed,
    pending_reviews,
    review_outcome,
)
from payments.link_codes import ALPHABET, CODE_LENGTH, new_code, normalise_code, shown
from payments.roster_rows import RosterChecker, check_row, check_rows
from payments.roster_sheet import SHEET, build_template, parse_roster
from payments.students import name_key

ID = make_citizen_id("430182", "20190301", 123)
ID2 = make_citizen_id("430182", "20190302", 124)


# -- fee items -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("state", list(FeeItemState))
@pytest.mark.parametrize("action", list(Action))
def test_each_step_is_allowed_in_its_states_only(state: FeeItemState, action: Action) -> None:
    if state in ALLOWED[action]:
        check_allowed(state.value, action)
    else:
        with pytest.raises(TransitionRefused) as refused:
            check_allowed(state.value, action)
        assert refused.value.state == state and refused.value.reason


def test_published_is_never_edited_only_withdrawn() -> None:
    assert [a for a in Action if FeeItemState.PUBLISHED in ALLOWED[a]] == [Action.WITHDRAW]
    assert [a for a in Action if FeeItemState.WITHDRAWN in ALLOWED[a]] == []  # the end


def decided(**sides: Decision) -> dict[str, dict[str, Any]]:
    reviews = pending_reviews()
    for side, decision in sides.items():
        reviews[side]["decision"] = decision.value
    return reviews


def test_joint_review_needs_both_and_either_rejects() -> None:
    assert review_outcome(decided(), Side.EDUCATION, approve=True) == FeeItemState.UNDER_REVIEW
    assert review_outcome(decided(), Side.PRICE, approve=True) == FeeItemState.UNDER_REVIEW
    assert review_outcome(decided(price=Decision.APPROVED), Side.EDUCATION, approve=True) == FeeItemState.APPROVED
    assert review_outcome(decided(education=Decision.APPROVED), Side.PRICE, approve=True) == FeeItemState.APPROVED
    assert review_outcome(decided(education=Decision.APPROVED), Side.PRICE, approve=False) == FeeItemState.DRAFT
    assert review_outcome(decided(), Side.EDUCATION, approve=False) == FeeItemState.DRAFT
    for decision in (Decision.APPROVED, Decision.REJECTED):
        with pytest.raises(TransitionRefused):  # one opinion per side per round
            review_outcome(decided(education=decision), Side.EDUCATION, approve=True)


GOOD_ITEM = {"name": "作业本费", "amount_fen": 12000, "term": "2026-autumn", "grades": ["一年级"],
             "basis": "宁发改价费〔2026〕12号"}


def test_fee_item_content_rules() -> None:
    item = FeeItemIn.model_validate({**GOOD_ITEM, "grades": [" 一年级", "一年级 ", "二年级"], "class_ids": ["c1"]})
    assert item.grades == ["一年级", "二年级"] and item.class_ids == ["c1"]  # trimmed, each once
    for bad in ({"amount_fen": 120.5}, {"amount_fen": "12000"}, {"amount_fen": 12000.0}, {"amount_fen": True},
                {"amount_fen": 0}, {"amount_fen": 10_000_001}, {"term": "2026-summer"}, {"term": "1999-autumn"},
                {"grades": []}, {"grades": [""]}, {"grades": ["x" * 33]}, {"basis": "依据"}, {"name": "费"},
                {"state": "published"}):
        with pytest.raises(ValidationError):
            FeeItemIn.model_validate({**GOOD_ITEM, **bad})
    assert FeeItemIn.model_validate({**GOOD_ITEM, "grades": [], "class_ids": ["c1"]}).class_ids == ["c1"]


# -- roster rows -----------------------------------------------------------------------------------------------
def row(**cells: Any) -> dict[str, Any]:
    return {"student_no": "2026-001", "name": "陈思远", "grade": "一年级", "class_name": "1班", "id_number": ID,
            "phone1": "13800000003", **cells}


def errcodes(cells: dict[str, Any]) -> set[tuple[str | None, str]]:
    checked, issues = check_row(7, cells)
    assert (checked is None) == bool(issues)
    assert all(i.row == 7 for i in issues)
    return {(i.column, i.errcode) for i in issues}


def test_a_good_row() -> None:
    checked, issues = check_row(2, row(phone2="+86 139 0000 0004", name="阿依古丽·买买提"))
    assert issues == [] and checked is not None
    assert [p.e164 for p in checked.phones] == ["+8613800000003", "+8613900000004"]
    assert ID not in repr(checked)  # never the number, even in a traceback


@pytest.mark.parametrize(("cells", "expected"), [
    ({"id_number": ID[:17] + ("0" if ID[17] != "0" else "1")}, {("学生身份证号", "CITIZEN_ID_CHECKSUM")}),
    ({"id_number": ID[:16]}, {("学生身份证号", "CITIZEN_ID_FORMAT")}),
    ({"id_number": 4.301822019030112e17}, {("学生身份证号", "CELL_NUMBER_ROUNDED")}),  # typed as a number
    ({"phone1": "1380000000"}, {("监护人手机号1", "PHONE_LENGTH")}),
    ({"phone1": "0731-87885678"}, {("监护人手机号1", "PHONE_NOT_MOBILE")}),
    ({"phone2": "138 0000 0003"}, {("监护人手机号2", "PHONE_DUPLICATE")}),
    ({"student_no": "43018220190301123X"}, {("学号", "STUDENT_NO_INVALID")}),  # a 全国学籍号 holds the ID
    ({"student_no": "A13800000003"}, {("学号", "STUDENT_NO_INVALID")}),
    ({"student_no": "一号"}, {("学号", "STUDENT_NO_INVALID")}),
    ({"name": "陈1"}, {("姓名", "NAME_INVALID")}),
    ({"grade": None, "class_name": " "}, {("年级", "CELL_REQUIRED"), ("班级", "CELL_REQUIRED")}),
    ({"grade": "一" * 21}, {("年级", "CELL_TOO_LONG")}),
    ({"phone1": None}, set()),
])
def test_every_bad_cell_is_named(cells: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert errcodes(row(**cells)) == expected


def test_every_problem_of_a_row_at_once_and_no_number_in_a_reason() -> None:
    bad_id, bad_phone = ID[:17] + ("0" if ID[17] != "0" else "1"), "1380000000"
    _, issues = check_row(3, row(name="", id_number=bad_id, phone1=bad_phone))
    assert {i.column for i in issues} == {"姓名", "学生身份证号", "监护人手机号1"}
    assert all(i.student_no == "2026-001" for i in issues)
    assert not any(bad_id in i.reason or bad_phone in i.reason for i in issues)


def test_duplicates_in_the_file_name_the_first_row_all_in_one_report() -> None:
    good, issues = check_rows([(2, row()), (3, row(id_number=ID2)), (4, row(student_no="2026-002")),
                               (5, row(student_no="2026-003", id_number=ID2)), (6, row())])
    assert [r.row for r in good] == [2]
    assert [(i.row, i.errcode) for i in issues] == [
        (3, "DUPLICATE_STUDENT_NO"), (4, "DUPLICATE_ID_NUMBER"),
        (5, "DUPLICATE_ID_NUMBER"),  # the twin of row 3, itself refused for its number: found in the same upload
        (6, "DUPLICATE_STUDENT_NO"), (6, "DUPLICATE_ID_NUMBER")]
    assert "第 2 行" in issues[0].reason and "2026-001" in issues[1].reason and ID not in issues[1].reason
    assert "第 3 行" in issues[2].reason


def test_checker_keeps_going_after_bad_rows() -> None:
    checker = RosterChecker()
    for number, cells in enumerate([row(id_number="x"), row(), row(student_no="2026-009", id_number=ID2)], start=2):
        checker.check(number, cells)
    assert [r.row for r in checker.good] == [3, 4] and [i.row for i in checker.issues] == [2]


def test_names_compare_however_they_were_typed() -> None:
    assert name_key("阿依古丽•买买提") == name_key("阿依古丽・买买提") == name_key("阿依古丽 · 买买提")
    assert name_key("ＬＩ Ｍｉｎｇ") == name_key("LIMing")
    assert name_key("陈思远") != name_key("陈思源")


# -- the roster workbook ---------------------------------------------------------------------------------------
def book(sheet: str, rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for line in rows:
        ws.append(line)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_template_has_the_headers_as_text_columns() -> None:
    ws = load_workbook(io.BytesIO(build_template()))[SHEET]
    assert [c.value for c in ws[1]] == ["学号", "姓名", "年级", "班级", "学生身份证号", "监护人手机号1", "监护人手机号2"]
    assert ws.column_dimensions["E"].number_format == "@"
    assert parse_roster(build_template()).issues == [] and parse_roster(build_template()).rows == []


def test_parse_roster_columns_in_any_order_blank_rows_skipped() -> None:
    parsed = parse_roster(book(SHEET, [["备注", "姓名", "学号", "班级", "年级", "学生身份证号"],
                                       [None, "陈思远", "2026-001", "1班", "一年级", ID],
                                       [None, None, None, None, None, None],
                                       ["转学", "王一诺", "2026-002", "2班", "一年级", ID2]]))
    assert parsed.issues == []
    assert [(n, r["student_no"], r["name"], r.get("phone1")) for n, r in parsed.rows] == [
        (2, "2026-001", "陈思远", None), (4, "2026-002", "王一诺", None)]


@pytest.mark.parametrize(("data", "errcode"), [
    (b"PK\x03\x04 broken", "FILE_INVALID"),
    (book("Sheet1", [["学号"]]), "SHEET_MISSING"),
    (book(SHEET, [["学号", "姓名", "年级"]]), "HEADER_MISSING"),
])
def test_parse_roster_file_problems(data: bytes, errcode: str) -> None:
    parsed = parse_roster(data)
    assert [i.errcode for i in parsed.issues] == [errcode] and parsed.rows == []


# -- the bills workbook ----------------------------------------------------------------------------------------
def bill(**changes: Any) -> dict[str, Any]:
    return {"student_no": "2026-001", "student_name": "陈思远", "grade": "一年级", "class_name": "1班",
            "item": {"name": "作业本费", "term": "2026-autumn"}, "amount_fen": 12005, "state": "unpaid",
            "paid_at": None, "payment": None, "cancel_reason": None, **changes}


def test_bills_workbook_amounts_in_yuan_and_text_never_a_formula() -> None:
    paid = bill(state="paid", paid_at=datetime(2026, 9, 1, 1, 2, 3, tzinfo=UTC), amount_fen=7,
                payment={"provider": "wechatpay", "transaction_id": "4200000001"})
    data = build_bills_workbook("一年级1班", [bill(), paid, bill(item={"name": "=1+1", "term": "2026-autumn"},
                                                                state="cancelled", cancel_reason="@SUM(A1)")])
    ws = load_workbook(io.BytesIO(data)).active
    lines = [[c.value for c in line] for line in ws.iter_rows()]
    assert lines[0] == list(HEADERS) and ws.title == "一年级1班"
    rows = [dict(zip(HEADERS, line, strict=True)) for line in lines[1:]]
    assert [r["应缴金额（元）"] for r in rows] == ["120.05", "0.07", "120.05"]
    assert rows[1]["缴费时间"] == "2026-09-01 09:02:03" and rows[1]["支付渠道"] == "微信支付"
    assert [r["状态"] for r in rows] == ["待缴费", "已缴费", "已取消"]
    formula_cell = ws.cell(row=4, column=HEADERS.index("收费项目") + 1)
    assert formula_cell.value == "=1+1" and formula_cell.data_type == "s"


@pytest.mark.parametrize("title", ["一年级1/2班", "一年级[实验]班", "高一A:B?", "一年级\\1*班", "'" * 3, "班" * 40])
def test_bills_workbook_takes_any_class_name(title: str) -> None:
    ws = load_workbook(io.BytesIO(build_bills_workbook(title, [bill()]))).active
    assert ws.max_row == 2 and 0 < len(ws.title) <= 31 and not set(ws.title) & set("[]:*?/\\")
    assert safe_title(title).startswith(ws.title)


# -- link codes ------------------------------------------------------------------------------------------------
def test_link_codes() -> None:
    code = new_code()
    assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) and not set("01ILO") & set(ALPHABET)
    assert normalise_code(shown(code).lower()) == code
    assert normalise_code("ａｂｃｄ－２３４５") == normalise_code("abcd 2345") == "ABCD2345"
