"""Cell values of the catalogue spreadsheet, both ways: what a department admin types in Excel ↔ the guide's
JSON values.

Staff fill in Chinese words, not our codes: 是/否 for booleans, 最多跑一次 for `one_visit`, 出生医学证明 for the
e-certificate type `birth_medical_certificate` (the code is accepted too, so a file from another system works).
Lists are one item per line in one cell (Alt+Enter in Excel); tag lists may also be separated by 、 or commas.
A value that cannot be converted raises `CellProblem` with a Chinese reason and a stable errcode; every other
rule (lengths, ranges, the form schema's meta-schema) stays with the guide model, so it is stated once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

EXCEL_MAX_CELL_CHARS = 32_767
_TAG_SPLIT = re.compile(r"[\n\r、,，;；]+")
_TRUE = {"是", "y", "yes", "true", "1", "√"}
_FALSE = {"否", "n", "no", "false", "0", "×"}
_EXACT_FLOAT_LIMIT = 10**15  # Excel keeps 15 significant digits: longer numbers were already rounded


class CellKind(StrEnum):
    TEXT = "text"  # one string
    LINES = "lines"  # a list of strings, one per line
    TAGS = "tags"  # a list of short values, by line, 、 or comma; closed vocabularies map Chinese labels
    INT = "int"  # a whole number
    BOOL = "bool"  # 是 / 否
    ENUM = "enum"  # one value of a closed vocabulary, by its Chinese label or its code
    JSON = "json"  # a JSON document (the form schema)


class CellProblem(ValueError):
    """A cell that cannot become a value; `errcode` is stable, the message is the Chinese reason."""

    def __init__(self, errcode: str, reason: str) -> None:
        super().__init__(reason)
        self.errcode = errcode
        self.reason = reason


def _is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        raise CellProblem("CELL_NOT_TEXT", "须为文本")
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if raw.is_integer() and abs(raw) >= _EXACT_FLOAT_LIMIT:
            raise CellProblem("CELL_NUMBER_ROUNDED", "长数字已被 Excel 按数值舍入，请把单元格设为“文本”格式后重新填写")
        return str(int(raw)) if raw.is_integer() else str(raw)
    if isinstance(raw, str):
        return raw.strip()
    raise CellProblem("CELL_NOT_TEXT", "须为文本")


def _label_to_code(value: str, labels: Mapping[str, str] | None) -> str:
    if labels is None or value in labels:
        return value
    for code, label in labels.items():
        if label == value:
            return code
    raise CellProblem("CELL_NOT_ALLOWED", f"「{value}」不是可选值；可选：{'、'.join(labels.values())}")


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise CellProblem("CELL_NOT_INTEGER", "须为整数")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise CellProblem("CELL_NOT_INTEGER", f"须为整数，不能有小数（填写的是 {raw}）")
    if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
        return int(raw)
    raise CellProblem("CELL_NOT_INTEGER", f"须为整数（填写的是「{raw}」）")


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = _text(raw).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise CellProblem("CELL_NOT_BOOLEAN", f"须填“是”或“否”（填写的是「{raw}」）")


def _json(raw: Any) -> Any:
    text = _text(raw)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CellProblem("CELL_INVALID_JSON",
                          f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列附近）") from None


def read_cell(kind: CellKind, raw: Any, labels: Mapping[str, str] | None = None) -> Any:
    """The JSON value of a cell, or None for a blank cell (the caller decides what blank means)."""
    if _is_blank(raw):
        return None
    if kind is CellKind.TEXT:
        return _text(raw)
    if kind is CellKind.LINES:
        return [line.strip() for line in _text(raw).splitlines() if line.strip()]
    if kind is CellKind.TAGS:
        return [_label_to_code(part.strip(), labels) for part in _TAG_SPLIT.split(_text(raw)) if part.strip()]
    if kind is CellKind.INT:
        return _integer(raw)
    if kind is CellKind.BOOL:
        return _boolean(raw)
    if kind is CellKind.ENUM:
        return _label_to_code(_text(raw), labels)
    return _json(raw)


def _clean(text: str) -> str:
    """Control characters cannot be stored in an xlsx cell (openpyxl refuses them)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def write_cell(kind: CellKind, value: Any, labels: Mapping[str, str] | None = None) -> Any:
    """What the cell shows for a JSON value: the inverse of `read_cell` for every value the guide model accepts
    (a list item containing a line break is the one exception: it becomes two items)."""
    if value is None or value == []:
        return None
    if kind is CellKind.BOOL:
        return "是" if value else "否"
    if kind is CellKind.INT:
        return value
    if kind is CellKind.ENUM:
        return (labels or {}).get(value, value)
    if kind is CellKind.LINES:
        return _clean("\n".join(" ".join(str(item).splitlines()) for item in value))
    if kind is CellKind.TAGS:
        return _clean("、".join((labels or {}).get(item, item) for item in value))
    if kind is CellKind.JSON:
        text = json.dumps(value, ensure_ascii=False, indent=2)
        if len(text) > EXCEL_MAX_CELL_CHARS:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return _clean(text)
    return _clean(str(value))
