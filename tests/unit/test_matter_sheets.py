"""The xlsx layout: column definitions ↔ template ↔ parser ↔ export agree, and every cell rule the parser owns
names the sheet, the Excel row, the column header and a Chinese reason."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from affairs.demo_catalogue import DEMO_MATTERS
from affairs.matter_model import Channels, Fee, Material, MatterCreate, Place, Step
from affairs.matter_sheet_columns import GUIDE_SHEET_NOTE, MATERIALS, MATTERS, PLACES, SHEETS, STEPS
from affairs.matter_sheet_read import SheetIssue, parse_workbook
from affairs.matter_sheet_write import build_workbook
from affairs.sheet_cells import CellKind, CellProblem, read_cell, write_cell
from tests.support.sheets import append_row, edit

BODIES = [MatterCreate.model_validate(raw).model_dump(mode="json") for raw in DEMO_MATTERS]


def _paths(model: Any, prefix: str = "") -> set[str]:
    return {f"{prefix}{name}" for name in model.model_fields}


def test_columns_cover_every_field_of_the_guide() -> None:
    nested = {"fee": Fee, "channels": Channels}
    expected = {p for p in _paths(MatterCreate) if p not in nested and p not in ("materials", "process", "places")}
    for name, model in nested.items():
        expected |= _paths(model, f"{name}.")
    assert {c.path for c in MATTERS.columns} == expected
    for sheet, model in ((MATERIALS, Material), (STEPS, Step), (PLACES, Place)):
        assert {c.path for c in sheet.columns} == _paths(model) | {"code"}, sheet.title
    headers = [c.header for sheet in SHEETS for c in sheet.columns]
    assert all(headers.count(h) == 1 or h == "事项编码" for h in headers)


def test_template_is_built_from_the_column_definitions() -> None:
    book = load_workbook(io.BytesIO(build_workbook([])))
    assert book.sheetnames == [s.title for s in SHEETS] + [GUIDE_SHEET_NOTE]
    for sheet in SHEETS:
        ws = book[sheet.title]
        assert [cell.value for cell in ws[1]] == [c.header for c in sheet.columns]
        assert ws.max_row == 1  # headers only
        assert all(cell.comment is not None for cell in ws[1])
    notes = {(row[0], row[1]) for row in book[GUIDE_SHEET_NOTE].iter_rows(min_row=2, values_only=True)}
    assert all((s.title, c.header) in notes for s in SHEETS for c in s.columns)
    depth = next(dv for dv in book["事项"].data_validations.dataValidation if "最多跑一次" in dv.formula1)
    assert str(depth.sqref).startswith("Q2:")  # 跑动次数 is the 17th column


def test_every_demo_guide_survives_export_and_parse_unchanged() -> None:
    parsed = parse_workbook(build_workbook(BODIES))
    assert parsed.issues == []
    assert parsed.rows == {"事项": 35, "申请材料": 121, "办理流程": 166, "办理地点": 35}
    assert [MatterCreate.model_validate(m.body).model_dump(mode="json") for m in parsed.matters] == BODIES


def test_the_template_parses_to_no_matters() -> None:
    parsed = parse_workbook(build_workbook([]))
    assert [(i.sheet, i.row, i.column, i.errcode) for i in parsed.issues] == [("事项", 2, "事项编码", "NO_MATTERS")]


def test_headers_are_matched_by_text_in_any_order_with_extra_columns() -> None:
    book = load_workbook(io.BytesIO(build_workbook(BODIES[:1])))
    ws = book["事项"]
    header, row = ([cell.value for cell in line] for line in ws.iter_rows(max_row=2))
    ws.delete_rows(1, 2)
    ws.append(["*" + header[-1], *reversed(header[:-1]), "备注（不导入）"])
    ws.append([row[-1], *reversed(row[:-1]), "内部备注"])
    out = io.BytesIO()
    book.save(out)
    parsed = parse_workbook(out.getvalue())
    assert parsed.issues == []
    assert MatterCreate.model_validate(parsed.matters[0].body).model_dump(mode="json") == BODIES[0]


def _issues(data: bytes) -> set[tuple[str | None, int | None, str | None, str]]:
    return {(i.sheet, i.row, i.column, i.errcode) for i in parse_workbook(data).issues}


def test_each_cell_rule_names_sheet_row_column_and_reason() -> None:
    data = build_workbook(BODIES[:3])  # matters on rows 2–4; the first matter's materials from row 2
    code = BODIES[0]["code"]
    broken = edit(data, {
        ("事项", 2, "即办件"): "可能",
        ("事项", 3, "法定时限（工作日）"): 2.5,
        ("事项", 3, "收费金额（分）"): 12.5,
        ("事项", 4, "申请表单（JSON Schema）"): '{"type": "object",',
        ("事项", 4, "跑动次数"): "跑两次",
        ("申请材料", 2, "可替代的电子证照"): "独角兽证",
        ("申请材料", 3, "原件份数"): "一份",
        ("事项", 2, "适用区划代码"): 1.1430182000000002e17,
    })
    broken, extra = append_row(broken, "事项", {"事项编码": code, "事项名称": "重复的事项"})
    broken, orphan = append_row(broken, "办理流程", {"事项编码": "NO-SUCH-CODE", "环节名称": "受理"})
    parsed = parse_workbook(broken)
    found = {(i.sheet, i.row, i.column, i.errcode): i for i in parsed.issues}
    assert set(found) == {
        ("事项", 2, "即办件", "CELL_NOT_BOOLEAN"),
        ("事项", 3, "法定时限（工作日）", "CELL_NOT_INTEGER"),
        ("事项", 3, "收费金额（分）", "CELL_NOT_INTEGER"),
        ("事项", 4, "申请表单（JSON Schema）", "CELL_INVALID_JSON"),
        ("事项", 4, "跑动次数", "CELL_NOT_ALLOWED"),
        ("申请材料", 2, "可替代的电子证照", "CELL_NOT_ALLOWED"),
        ("申请材料", 3, "原件份数", "CELL_NOT_INTEGER"),
        ("事项", 2, "适用区划代码", "CELL_NUMBER_ROUNDED"),
        ("事项", extra, "事项编码", "CODE_DUPLICATE_IN_FILE"),
        ("办理流程", orphan, "事项编码", "CODE_NOT_IN_MATTERS"),
    }
    assert "不能有小数" in found[("事项", 3, "收费金额（分）", "CELL_NOT_INTEGER")].reason
    assert "最多跑一次" in found[("事项", 4, "跑动次数", "CELL_NOT_ALLOWED")].reason
    assert found[("事项", extra, "事项编码", "CODE_DUPLICATE_IN_FILE")].reason == "与第 2 行的事项编码重复"
    assert found[("事项", 2, "即办件", "CELL_NOT_BOOLEAN")].matter_code == code
    assert {m.code for m in parsed.matters} == {b["code"] for b in BODIES[:3]}
    first = parsed.matters[0]
    assert {"instant", "region_code", "materials.0.ecert_type"} <= first.reported  # the model will not repeat them


def test_missing_columns_and_sheets_and_foreign_files() -> None:
    book = load_workbook(io.BytesIO(build_workbook(BODIES[:1])))
    book["事项"].delete_cols(2)  # 事项名称
    out = io.BytesIO()
    book.save(out)
    assert _issues(out.getvalue()) == {("事项", 1, "事项名称", "COLUMN_MISSING")}
    other = Workbook()
    other.active.title = "Sheet1"
    out = io.BytesIO()
    other.save(out)
    assert _issues(out.getvalue()) == {("事项", None, None, "SHEET_MISSING")}
    for junk in (b"PK\x03\x04 not really a zip", b"name,code\n"):
        assert [i.errcode for i in parse_workbook(junk).issues] == ["FILE_INVALID"]


@pytest.mark.parametrize(("kind", "raw", "value"), [
    (CellKind.TEXT, 430182, "430182"), (CellKind.TEXT, "  a ", "a"), (CellKind.INT, 3.0, 3), (CellKind.INT, " 7", 7),
    (CellKind.BOOL, "是", True), (CellKind.BOOL, "否", False), (CellKind.BOOL, True, True),
    (CellKind.LINES, "一\n\n二 ", ["一", "二"]), (CellKind.TAGS, "上户口、落户,报户口", ["上户口", "落户", "报户口"]),
    (CellKind.JSON, '{"a": [1]}', {"a": [1]}), (CellKind.TEXT, "   ", None),
])
def test_cell_values(kind: CellKind, raw: Any, value: Any) -> None:
    assert read_cell(kind, raw) == value


def test_enum_cells_take_labels_or_codes_and_write_labels() -> None:
    labels = {"one_visit": "最多跑一次", "on_site": "须现场办理"}
    assert read_cell(CellKind.ENUM, "最多跑一次", labels) == "one_visit"
    assert read_cell(CellKind.ENUM, "on_site", labels) == "on_site"
    assert write_cell(CellKind.ENUM, "one_visit", labels) == "最多跑一次"
    with pytest.raises(CellProblem) as caught:
        read_cell(CellKind.ENUM, "跑三次", labels)
    assert caught.value.errcode == "CELL_NOT_ALLOWED" and "须现场办理" in caught.value.reason
    assert write_cell(CellKind.TEXT, "=HYPERLINK(\"x\")\x07") == "=HYPERLINK(\"x\")"  # control characters dropped


def test_strings_are_never_written_as_formulas() -> None:
    body = dict(BODIES[0], summary="=1+1 不是公式")
    ws = load_workbook(io.BytesIO(build_workbook([body])))["事项"]
    summary = next(c for c in ws[2] if c.column == 4)
    assert summary.value == "=1+1 不是公式" and summary.data_type == "s"


def test_issue_dicts_are_what_the_report_stores() -> None:
    issue = SheetIssue("事项", 3, "事项名称", "MISSING", "此项为必填项", "A-0001", "name")
    assert issue.as_dict() == {"sheet": "事项", "row": 3, "column": "事项名称", "errcode": "MISSING",
                               "reason": "此项为必填项", "matter_code": "A-0001", "field": "name"}


def test_the_documented_layout_names_every_sheet_and_column() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "catalogue.md").read_text(encoding="utf-8")
    layout = doc[doc.index("### Layout"):doc.index("### Import")]
    assert [s.title for s in SHEETS if s.title not in layout] == []
    assert [c.header for s in SHEETS for c in s.columns if c.header not in layout] == []
