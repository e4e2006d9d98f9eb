"""The roster workbook: the blank template a school fills in, and reading an uploaded one into raw rows.

Pure and synchronous (the template is built in a worker thread, parsing runs in the Celery worker). One sheet
「花名册」 with the headers of `roster_rows.COLUMNS` in any order (a header row is required; unknown columns are
ignored), every column formatted as text so Excel keeps leading zeros and long numbers. As for the catalogue,
the zip's declared sizes are checked before openpyxl inflates anything, and openpyxl parses through defusedxml.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from payments.roster_rows import COLUMNS, REQUIRED, RowIssue

SHEET = "花名册"
MAX_ROWS = 20_000
MAX_UNZIPPED_BYTES = 60 * 1024 * 1024
MAX_ZIP_ENTRIES = 500
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HINTS = {
    "student_no": "校内学号，本校唯一；再次导入时按学号更新（不要使用含身份证号的全国学籍号）",
    "grade": "如 一年级、七年级、高一",
    "class_name": "如 1班",
    "id_number": "18 位居民身份证号，请保持单元格为“文本”格式",
    "phone1": "家长在学校登记的手机号；家长用此号码验证后即可关联孩子",
    "phone2": "可选：第二位监护人的手机号",
}
_NOTES = (
    "每行一名学生；学号、姓名、年级、班级、学生身份证号必填，监护人手机号最多两个。",
    "身份证号和手机号加密保存，任何页面和导出都只显示脱敏后的号码。",
    "同一学号再次导入即更新该学生的信息（已关联的家长不受影响）；任一行有误则整份文件不导入，请按报告修改后重新上传。",
)
_BAD_FILE = "文件不是有效的 xlsx 工作簿（请在 Excel 中“另存为”xlsx 格式后上传）"


@dataclass
class ParsedRoster:
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (Excel row, {column key: raw value})
    issues: list[RowIssue] = field(default_factory=list)  # file-level problems (no usable sheet, headers)


def build_template() -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = SHEET
    ws.append([header for _, header in COLUMNS])
    for index, (key, _) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
        if key in _HINTS:
            cell.comment = Comment(_HINTS[key], "掌上办")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = 22 if key in ("id_number", "phone1", "phone2") else 14
        ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"
    notes = book.create_sheet("填写说明")
    for line in _NOTES:
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _file_problem(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile:
        return _BAD_FILE
    if len(entries) > MAX_ZIP_ENTRIES or sum(e.file_size for e in entries) > MAX_UNZIPPED_BYTES:
        return "工作簿解压后过大，请拆分为多个文件上传"
    return None


def parse_roster(data: bytes) -> ParsedRoster:
    """Raw rows of the roster sheet (blank rows skipped), or the file-level problem that stops reading."""
    parsed = ParsedRoster()
    problem = _file_problem(data)
    book = None
    if problem is None:
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many types for a damaged or foreign file
            problem = _BAD_FILE
    if book is None or problem is not None:
        parsed.issues.append(RowIssue(None, None, "FILE_INVALID", problem or _BAD_FILE))
        return parsed
    try:
        if SHEET not in book.sheetnames:
            parsed.issues.append(RowIssue(None, None, "SHEET_MISSING", f"工作簿中没有名为「{SHEET}」的工作表，请使用模板"))
            return parsed
        lines = book[SHEET].iter_rows(values_only=True)
        header = [str(v).strip() if v is not None else "" for v in next(lines, ())]
        positions = {key: header.index(title) for key, title in COLUMNS if title in header}
        missing = [title for key, title in COLUMNS if key in REQUIRED and key not in positions]
        if missing:
            parsed.issues.append(RowIssue(1, None, "HEADER_MISSING", "缺少列：" + "、".join(missing)))
            return parsed
        for number, values in enumerate(lines, start=2):
            if not any(v is not None and str(v).strip() for v in values):
                continue
            if len(parsed.rows) >= MAX_ROWS:
                parsed.issues.append(RowIssue(number, None, "TOO_MANY_ROWS", f"一次最多导入 {MAX_ROWS} 名学生，请拆分文件"))
                break
            parsed.rows.append((number, {key: values[pos] if pos < len(values) else None
                                         for key, pos in positions.items()}))
    finally:
        book.close()
    return parsed
