"""Writing catalogue workbooks: the blank import template and the export, from the same column definitions.

Pure and synchronous (CPU work: callers run it in a worker thread). Every string is written as a string, never
as a formula, so a guide text that starts with "=" cannot run in a colleague's Excel. Code columns are
formatted as text, so Excel does not turn 430182 into a number or an 18-character credit code into
1.14E+17; closed vocabularies get drop-down lists (a warning, not a block: codes are accepted too).
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from affairs.matter_sheet_columns import GUIDE_SHEET_NOTE, LIST_SHEETS, MATTERS, SHEETS, Column, Sheet
from affairs.sheet_cells import CellKind, write_cell

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VALIDATED_ROWS = 5000
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TEXT_KINDS = (CellKind.TEXT, CellKind.LINES, CellKind.TAGS, CellKind.JSON, CellKind.ENUM)


def _get(body: dict[str, Any], path: str) -> Any:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _choices(column: Column) -> list[str] | None:
    if column.kind is CellKind.BOOL:
        return ["是", "否"]
    if column.kind is CellKind.ENUM and column.labels:
        return list(column.labels.values())
    return None


def _prepare(ws: Worksheet, sheet: Sheet) -> None:
    ws.append([column.header for column in sheet.columns])
    ws.freeze_panes = "B2"
    for index, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index)
        cell.font, cell.fill = Font(bold=True), _HEADER_FILL
        if column.hint:
            cell.comment = Comment(column.hint, "掌上办")
        ws.column_dimensions[letter].width = column.width
        if column.kind in _TEXT_KINDS:
            ws.column_dimensions[letter].number_format = "@"
        choices = _choices(column)
        formula = '"' + ",".join(choices) + '"' if choices else ""
        if choices and len(formula) <= 255:  # Excel's limit for an inline list
            check = DataValidation(type="list", formula1=formula, allow_blank=True, errorStyle="warning",
                                   error="请从下拉列表中选择", errorTitle=column.header)
            check.add(f"{letter}2:{letter}{VALIDATED_ROWS}")
            ws.add_data_validation(check)


def _write_row(ws: Worksheet, sheet: Sheet, values: dict[str, Any]) -> None:
    row = ws.max_row + 1
    for index, column in enumerate(sheet.columns, start=1):
        shown = write_cell(column.kind, _get(values, column.path), column.labels)
        if shown is None:
            continue
        cell = ws.cell(row=row, column=index, value=shown)
        if isinstance(shown, str):
            cell.data_type = "s"  # never a formula, whatever the text starts with
            cell.number_format = "@"
            if column.kind in (CellKind.LINES, CellKind.JSON, CellKind.TEXT) and ("\n" in shown or len(shown) > 40):
                cell.alignment = _WRAP


def _notes(ws: Worksheet) -> None:
    ws.append(["工作表", "列", "填写说明", "可选值"])
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), _HEADER_FILL
    for sheet in SHEETS:
        for column in sheet.columns:
            labels = "、".join(column.labels.values()) if column.labels else ""
            ws.append([sheet.title, column.header, column.hint, labels])
    ws.append([])
    ws.append(["说明", "", "「申请材料」「办理流程」「办理地点」每行属于「事项编码」所指的事项，按行的顺序排列；"
               "同一文件中事项编码不能重复。已存在的事项（本部门）导入后成为新的草稿版本，内容未变的不作改动；"
               "整个文件有任何错误则不导入任何事项。", ""])
    for letter, width in zip("ABCD", (12, 24, 60, 60), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = _WRAP


def build_workbook(matters: list[dict[str, Any]]) -> bytes:
    """The workbook of these create bodies (code + guide), in the import layout; no matters: the template."""
    book = Workbook()
    book.remove(book.active)
    sheets = {sheet.title: book.create_sheet(sheet.title) for sheet in SHEETS}
    for sheet in SHEETS:
        _prepare(sheets[sheet.title], sheet)
    for body in matters:
        _write_row(sheets[MATTERS.title], MATTERS, body)
        for sheet in LIST_SHEETS:
            for item in body.get(str(sheet.list_field)) or []:
                _write_row(sheets[sheet.title], sheet, {"code": body["code"], **item})
    _notes(book.create_sheet(GUIDE_SHEET_NOTE))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
