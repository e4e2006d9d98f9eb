"""Checking the rows of a roster (花名册): every cell of every row, each problem named by row and column.

Pure and synchronous (it runs in the Celery worker). A row becomes a `RosterRow` only when all its cells are
good; every problem is a `RowIssue` with the row as Excel numbers it, the column header, a stable errcode and a
Chinese reason. Reasons never repeat an ID or phone number (the report is shown and stored): they say which
rule failed (校验位, 出生日期, 号段 …) and, for duplicates, which other row holds the same value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from accounts.citizen_id import CitizenId, CitizenIdInvalid, parse_citizen_id
from accounts.phone import CnMobile, PhoneInvalid, parse_cn_mobile
from affairs.sheet_cells import CellKind, CellProblem, read_cell

# (key, header) in sheet order: the template, the parser and the report use these headers.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("student_no", "学号"), ("name", "姓名"), ("grade", "年级"), ("class_name", "班级"),
    ("id_number", "学生身份证号"), ("phone1", "监护人手机号1"), ("phone2", "监护人手机号2"),
)
HEADER = dict(COLUMNS)
REQUIRED = ("student_no", "name", "grade", "class_name", "id_number")
_STUDENT_NO_RE = re.compile(r"[0-9A-Za-z-]{1,32}")
_LONG_DIGITS_RE = re.compile(r"\d{15,}")
_MOBILE_LIKE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_NAME_MARKS = set("·•・‧ ")


@dataclass(frozen=True, slots=True)
class RowIssue:
    row: int | None
    column: str | None
    errcode: str
    reason: str
    student_no: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "errcode": self.errcode, "reason": self.reason,
                "student_no": self.student_no}


@dataclass(frozen=True, slots=True, repr=False)
class RosterRow:
    row: int
    student_no: str
    name: str
    grade: str
    class_name: str
    citizen_id: CitizenId
    phones: tuple[CnMobile, ...] = field(default=())

    def __repr__(self) -> str:  # never the numbers, even in a traceback
        return f"RosterRow({self.row}, {self.student_no!r}, {self.citizen_id.masked!r})"


def _text(key: str, raw: Any, row: int, issues: list[RowIssue], limit: int) -> str | None:
    try:
        value = read_cell(CellKind.TEXT, raw)
    except CellProblem as problem:
        issues.append(RowIssue(row, HEADER[key], problem.errcode, problem.reason))
        return None
    if value is None:
        if key in REQUIRED:
            issues.append(RowIssue(row, HEADER[key], "CELL_REQUIRED", "此项为必填项"))
        return None
    if len(value) > limit:
        issues.append(RowIssue(row, HEADER[key], "CELL_TOO_LONG", f"不能超过 {limit} 个字符"))
        return None
    return value


def _student_no_problem(value: str) -> str | None:
    if not _STUDENT_NO_RE.fullmatch(value):
        return "学号只能由字母、数字和连字符组成，最长 32 位"
    if _LONG_DIGITS_RE.search(value) or _MOBILE_LIKE_RE.search(value):
        return "学号中不能含有身份证号或手机号（如全国学籍号），请使用校内学号"
    return None


def check_row(row: int, cells: dict[str, Any]) -> tuple[RosterRow | None, list[RowIssue]]:
    """One row ({column key: raw cell value}) → the row, or None and every problem in it."""
    issues: list[RowIssue] = []
    values = {key: _text(key, cells.get(key), row, issues, 20 if key in ("grade", "class_name") else 32)
              for key, _ in COLUMNS}
    number = values["student_no"]
    if number is not None and (problem := _student_no_problem(number)):
        issues.append(RowIssue(row, HEADER["student_no"], "STUDENT_NO_INVALID", problem))
        number = None
    name = values["name"]
    if name is not None and not all(ch.isalpha() or ch in _NAME_MARKS for ch in name):
        issues.append(RowIssue(row, HEADER["name"], "NAME_INVALID", "姓名只能包含文字和间隔号"))
    citizen: CitizenId | None = None
    if values["id_number"] is not None:
        try:
            citizen = parse_citizen_id(values["id_number"])
        except CitizenIdInvalid as exc:
            issues.append(RowIssue(row, HEADER["id_number"], f"CITIZEN_ID_{exc.rule}", exc.message_zh))
    phones: list[CnMobile] = []
    for key in ("phone1", "phone2"):
        if values[key] is None:
            continue
        try:
            mobile = parse_cn_mobile(values[key])
        except PhoneInvalid as exc:
            issues.append(RowIssue(row, HEADER[key], f"PHONE_{exc.rule}", exc.message_zh))
            continue
        if mobile in phones:
            issues.append(RowIssue(row, HEADER[key], "PHONE_DUPLICATE", "与监护人手机号1相同"))
            continue
        phones.append(mobile)
    issues = [RowIssue(i.row, i.column, i.errcode, i.reason, number) for i in issues]
    if issues or None in (number, name, values["grade"], values["class_name"], citizen):
        return None, issues
    return RosterRow(row, number, name, values["grade"], values["class_name"], citizen, tuple(phones)), []


class RosterChecker:
    """Checks rows one by one (the caller reports progress between them) and finds duplicates inside the file:
    a student number or an ID number on two rows is reported on the later row, naming the first."""

    def __init__(self) -> None:
        self.good: list[RosterRow] = []
        self.issues: list[RowIssue] = []
        self._numbers: dict[str, int] = {}
        self._ids: dict[str, RosterRow] = {}

    def check(self, row: int, cells: dict[str, Any]) -> None:
        checked, problems = check_row(row, cells)
        self.issues.extend(problems)
        if checked is None:
            return
        # The first row holding a value is remembered even when that row is itself a duplicate of another value,
        # so one upload reports every duplicate (not the next one only after the first is fixed).
        first = self._numbers.setdefault(checked.student_no, row)
        twin = self._ids.setdefault(checked.citizen_id.number, checked)
        if first != row:
            self.issues.append(RowIssue(row, HEADER["student_no"], "DUPLICATE_STUDENT_NO",
                                        f"学号 {checked.student_no} 与第 {first} 行重复", checked.student_no))
        if twin is not checked:
            self.issues.append(RowIssue(row, HEADER["id_number"], "DUPLICATE_ID_NUMBER",
                                        f"身份证号与第 {twin.row} 行（学号 {twin.student_no}）重复", checked.student_no))
        if first == row and twin is checked:
            self.good.append(checked)


def check_rows(rows: list[tuple[int, dict[str, Any]]]) -> tuple[list[RosterRow], list[RowIssue]]:
    """Every row of a file checked: the good rows and every problem."""
    checker = RosterChecker()
    for row, cells in rows:
        checker.check(row, cells)
    return checker.good, checker.issues
