"""Reading an uploaded catalogue workbook into create bodies, remembering which cell each value came from.

Pure and synchronous (CPU work: it runs in the Celery worker, never on the API's IOLoop). Every problem found
here is a `SheetIssue` naming the sheet, the row as Excel numbers it, the column header and the reason; values
that could not be read are left out of the body and their paths remembered, so the guide model's later verdict
on the same field does not repeat the complaint. An xlsx is a zip: its declared sizes are checked before
openpyxl inflates anything, and openpyxl parses XML through defusedxml.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook

from affairs.matter_sheet_columns import CODE_HEADER, LIST_SHEETS, MATTERS, Column, Sheet
from affairs.sheet_cells import CellKind, CellProblem, read_cell

MAX_MATTERS = 1000
MAX_ROWS_PER_SHEET = 20_000
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000


@dataclass(frozen=True, slots=True)
class CellRef:
    sheet: str
    row: int
    column: str


@dataclass(frozen=True, slots=True)
class SheetIssue:
    """One bad cell (or a whole sheet or file when `row` / `sheet` is None), for the import report."""

    sheet: str | None
    row: int | None
    column: str | None
    errcode: str
    reason: str
    matter_code: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "errcode": self.errcode,
                "reason": self.reason, "matter_code": self.matter_code, "field": self.field}


@dataclass
class ParsedMatter:
    """One row of the matters sheet with its list rows: the create body and where each value came from."""

    row: int
    code: str | None
    body: dict[str, Any]
    cells: dict[str, CellRef] = field(default_factory=dict)
    reported: set[str] = field(default_factory=set)  # paths that already have an issue


@dataclass
class ParsedWorkbook:
    matters: list[ParsedMatter] = field(default_factory=list)
    issues: list[SheetIssue] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # data rows read per sheet


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[leaf] = value


def _file_problem(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile:
        return "文件不是有效的 xlsx 工作簿（请在 Excel 中“另存为”xlsx 格式后上传）"
    if len(entries) > MAX_ZIP_ENTRIES or sum(e.file_size for e in entries) > MAX_UNZIPPED_BYTES:
        return "工作簿解压后过大，请拆分为多个文件上传"
    return None


def parse_workbook(data: bytes) -> ParsedWorkbook:
    """Every matter of the workbook and every problem found while reading it."""
    parsed = ParsedWorkbook()
    problem = _file_problem(data)
    if problem is None:
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many types for a damaged or foreign file
            problem = "文件不是有效的 xlsx 工作簿（请在 Excel 中“另存为”xlsx 格式后上传）"
    if problem is not None:
        parsed.issues.append(SheetIssue(None, None, None, "FILE_INVALID", problem))
        return parsed
    try:
        _Reader(book, parsed).read()
    finally:
        book.close()
    return parsed


class _Reader:
    def __init__(self, book: Any, parsed: ParsedWorkbook) -> None:
        self.book = book
        self.parsed = parsed
        self.by_code: dict[str, ParsedMatter] = {}

    def issue(self, sheet: str | None, row: int | None, column: str | None, errcode: str, reason: str,
              matter: ParsedMatter | None = None, path: str | None = None) -> None:
        if matter is not None and path is not None:
            matter.reported.add(path)
        self.parsed.issues.append(SheetIssue(sheet, row, column, errcode, reason,
                                             matter.code if matter else None, path))

    def read(self) -> None:
        if MATTERS.title not in self.book.sheetnames:
            self.issue(MATTERS.title, None, None, "SHEET_MISSING", f"缺少「{MATTERS.title}」工作表（请使用导入模板）")
            return
        matters = self.rows(MATTERS)
        if matters is None:  # without the matters, rows of the other sheets cannot be placed
            return
        for row, values in matters:
            self.matter_row(row, values)
        if not self.parsed.matters and not self.parsed.issues:
            self.issue(MATTERS.title, 2, CODE_HEADER, "NO_MATTERS", "「事项」表中没有任何事项")
        for sheet in LIST_SHEETS:
            if sheet.title in self.book.sheetnames:
                for row, values in self.rows(sheet) or []:
                    self.list_row(sheet, row, values)

    def rows(self, sheet: Sheet) -> list[tuple[int, dict[Column, Any]]] | None:
        """The non-blank data rows of a sheet as {column: raw value}; None after reporting a bad header row."""
        lines = self.book[sheet.title].iter_rows(values_only=True)
        header = next(lines, ())
        known = sheet.by_header()
        positions: dict[int, Column] = {}
        for index, title in enumerate(header):
            name = str(title).strip().lstrip("*＊").strip() if title is not None else ""
            if name in known:
                if known[name] in positions.values():
                    self.issue(sheet.title, 1, name, "COLUMN_DUPLICATE", "该列出现了两次")
                positions[index] = known[name]
        missing = [c.header for c in sheet.columns if c.required and c not in positions.values()]
        for name in missing:
            self.issue(sheet.title, 1, name, "COLUMN_MISSING", "缺少此列（请使用导入模板，不要改动表头）")
        if missing:
            return None
        found: list[tuple[int, dict[Column, Any]]] = []
        for row, values in enumerate(lines, start=2):
            if row > MAX_ROWS_PER_SHEET + 1:
                self.issue(sheet.title, row, None, "TOO_MANY_ROWS", f"每张表最多 {MAX_ROWS_PER_SHEET} 行数据")
                break
            cells = {column: values[i] for i, column in positions.items() if i < len(values)}
            if any(v is not None and str(v).strip() for v in cells.values()):
                found.append((row, cells))
        self.parsed.rows[sheet.title] = len(found)
        return found

    def convert(self, sheet: Sheet, row: int, column: Column, raw: Any, matter: ParsedMatter,
                prefix: str) -> tuple[bool, Any]:
        path = f"{prefix}{column.path}"
        try:
            value = read_cell(column.kind, raw, column.labels)
        except CellProblem as problem:
            self.issue(sheet.title, row, column.header, problem.errcode, problem.reason, matter, path)
            return False, None
        if value is None and column.kind in (CellKind.LINES, CellKind.TAGS):
            value = []
        return True, value

    def fill(self, sheet: Sheet, row: int, values: dict[Column, Any], matter: ParsedMatter, target: dict[str, Any],
             prefix: str) -> None:
        for column, raw in values.items():
            if column.header == CODE_HEADER:
                continue
            ref = CellRef(sheet.title, row, column.header)
            path = f"{prefix}{column.path}"
            matter.cells[path] = ref
            parts = path.split(".")
            for depth in range(1, len(parts)):  # a whole group ("fee", "channels", "materials.0") → its first cell
                matter.cells.setdefault(".".join(parts[:depth]), ref)
            ok, value = self.convert(sheet, row, column, raw, matter, prefix)
            if ok and value is not None:
                _set(target, column.path, value)

    def matter_row(self, row: int, values: dict[Column, Any]) -> None:
        code_column = MATTERS.by_header()[CODE_HEADER]
        matter = ParsedMatter(row=row, code=None, body={"materials": [], "process": [], "places": []})
        ok, code = self.convert(MATTERS, row, code_column, values.get(code_column), matter, "")
        matter.code = code if ok else None
        matter.cells["code"] = CellRef(MATTERS.title, row, CODE_HEADER)
        for sheet in LIST_SHEETS:  # a problem with a whole list is shown on the matter's row
            matter.cells[str(sheet.list_field)] = CellRef(MATTERS.title, row, CODE_HEADER)
        if code is not None:
            matter.body["code"] = code
            first = self.by_code.get(code)
            if first is not None:
                self.issue(MATTERS.title, row, CODE_HEADER, "CODE_DUPLICATE_IN_FILE",
                           f"与第 {first.row} 行的事项编码重复", matter, "code")
                return
            if len(self.by_code) >= MAX_MATTERS:
                self.issue(MATTERS.title, row, CODE_HEADER, "TOO_MANY_MATTERS", f"一个文件最多导入 {MAX_MATTERS} 个事项")
                return
            self.by_code[code] = matter
        self.fill(MATTERS, row, values, matter, matter.body, "")
        self.parsed.matters.append(matter)

    def list_row(self, sheet: Sheet, row: int, values: dict[Column, Any]) -> None:
        code_column = sheet.by_header()[CODE_HEADER]
        try:
            code = read_cell(CellKind.TEXT, values.get(code_column))
        except CellProblem as problem:
            self.issue(sheet.title, row, CODE_HEADER, problem.errcode, problem.reason)
            return
        if code is None:
            self.issue(sheet.title, row, CODE_HEADER, "MISSING", "此项为必填项：填写该行所属事项的编码")
            return
        matter = self.by_code.get(code)
        if matter is None:
            self.issue(sheet.title, row, CODE_HEADER, "CODE_NOT_IN_MATTERS", f"事项编码「{code}」不在「事项」表中")
            return
        items: list[dict[str, Any]] = matter.body[str(sheet.list_field)]
        item: dict[str, Any] = {}
        prefix = f"{sheet.list_field}.{len(items)}."
        items.append(item)
        self.fill(sheet, row, values, matter, item, prefix)
