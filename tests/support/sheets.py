"""Helpers for xlsx import tests: workbooks of fresh matters, and editing cells the way a person does in Excel
(by sheet, Excel row number and column header)."""

from __future__ import annotations

import io
import secrets
from typing import Any

from openpyxl import load_workbook

from affairs.demo_catalogue import DEMO_MATTERS
from affairs.matter_model import MatterCreate
from affairs.matter_sheet_write import build_workbook
from tests.support.catalogue import new_matter


def fresh_bodies(department_code: str, count: int) -> list[dict[str, Any]]:
    """`count` valid create bodies of the department (its demo guides as templates, fresh codes and names),
    normalised as the model stores them."""
    templates = [raw["code"] for raw in DEMO_MATTERS if raw["department_code"] == department_code]
    bodies = []
    for index in range(count):
        body = new_matter(templates[index % len(templates)])
        body["code"] = f"X{secrets.token_hex(4).upper()}-{index:03d}"
        bodies.append(MatterCreate.model_validate(body).model_dump(mode="json"))
    return bodies


def workbook(bodies: list[dict[str, Any]]) -> bytes:
    return build_workbook(bodies)


def _column(ws: Any, header: str) -> int:
    for cell in ws[1]:
        if cell.value == header:
            return cell.column
    raise KeyError(header)


def edit(data: bytes, changes: dict[tuple[str, int, str], Any]) -> bytes:
    """The workbook with these cells set: {(sheet, Excel row, column header): value}."""
    book = load_workbook(io.BytesIO(data))
    for (sheet, row, header), value in changes.items():
        ws = book[sheet]
        cell = ws.cell(row=row, column=_column(ws, header))
        cell.value = value  # `ws.cell(value=None)` would leave the cell as it was
        if isinstance(value, str):
            cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def append_row(data: bytes, sheet: str, values: dict[str, Any]) -> tuple[bytes, int]:
    """The workbook with one more row on `sheet` ({header: value}) and that row's Excel number."""
    book = load_workbook(io.BytesIO(data))
    ws = book[sheet]
    row = ws.max_row + 1
    for header, value in values.items():
        ws.cell(row=row, column=_column(ws, header), value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), row


def rows_of(data: bytes, sheet: str) -> list[dict[str, Any]]:
    """The data rows of a sheet as {header: value} (to read an export)."""
    ws = load_workbook(io.BytesIO(data), read_only=True)[sheet]
    lines = ws.iter_rows(values_only=True)
    header = list(next(lines))
    return [dict(zip(header, values, strict=False)) for values in lines if any(v is not None for v in values)]
