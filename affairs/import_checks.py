"""Checking a parsed workbook against the catalogue: every rule a guide has, plus what an import adds.

Each matter goes through `check_guide` — the very validation of `POST /api/v1/admin/matters` — and every field
error it names is placed on the cell it came from. An import adds: the matter must belong to the importing
department, and a code that already exists must be that department's matter. Decision on existing codes: the
row becomes the matter's new working draft (version N+1 after a publish, as an edit in the app would), or is
left alone when it says exactly what the matter says now — so importing an unchanged export changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from affairs.departments import Department, DepartmentRepository
from affairs.matter_checks import check_guide
from affairs.matter_model import MatterCreate
from affairs.matter_repository import MatterRepository, MatterVersionRepository
from affairs.matter_sheet_columns import SHEET_OF_LIST, SHEETS
from affairs.matter_sheet_read import ParsedMatter, ParsedWorkbook, SheetIssue
from affairs.matters import DraftState
from affairs.regions import RegionRepository
from core.errors import AppError

Outcome = Literal["created", "updated", "unchanged"]
_SHEET_ORDER = {sheet.title: index for index, sheet in enumerate(SHEETS)}
_COLUMN_ORDER = {(sheet.title, c.header): index for sheet in SHEETS for index, c in enumerate(sheet.columns)}


@dataclass
class PlannedMatter:
    parsed: ParsedMatter
    guide: MatterCreate
    outcome: Outcome
    existing: dict[str, Any] | None = None  # the matter document read before the import (updates only)


@dataclass
class ImportPlan:
    items: list[PlannedMatter] = field(default_factory=list)
    issues: list[SheetIssue] = field(default_factory=list)


@dataclass
class CatalogueLookups:
    departments: DepartmentRepository
    regions: RegionRepository
    matters: MatterRepository
    versions: MatterVersionRepository


def sort_issues(issues: list[SheetIssue]) -> list[SheetIssue]:
    """In the order a person reads the workbook: sheet by sheet, row by row, left to right."""
    return sorted(issues, key=lambda i: (_SHEET_ORDER.get(i.sheet or "", -1), i.row or 0,
                                         _COLUMN_ORDER.get((i.sheet or "", i.column or ""), -1)))


def _issue_for(matter: ParsedMatter, field_path: str, errcode: str, message: str) -> SheetIssue | None:
    """The model's verdict on `field_path`, placed on its cell; None when that cell was already reported."""
    if any(field_path == done or field_path.startswith(done + ".") for done in matter.reported):
        return None
    parts = field_path.split(".")
    ref = next((matter.cells[p] for p in (".".join(parts[:n]) for n in range(len(parts), 0, -1))
                if p in matter.cells), None)
    list_sheet = SHEET_OF_LIST.get(parts[0])
    if list_sheet is not None and (len(parts) == 1 or ref is None or ref.sheet != list_sheet.title):
        message = f"「{list_sheet.title}」表：{message}"
    if ref is None:
        return SheetIssue(None, matter.row, None, errcode, message, matter.code, field_path)
    return SheetIssue(ref.sheet, ref.row, ref.column, errcode, message, matter.code, field_path)


async def _current_guides(lookups: CatalogueLookups, docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What each existing matter says now: its working draft, else its last published version."""
    current = {code: doc["draft"]["guide"] for code, doc in docs.items() if doc.get("draft")}
    for code, doc in docs.items():
        if code not in current and doc.get("latest_version"):
            version = await lookups.versions.get(code, doc["latest_version"])
            if version is not None:
                current[code] = version["guide"]
    return current


async def check_workbook(parsed: ParsedWorkbook, department: Department, lookups: CatalogueLookups,
                         on_progress: Callable[[int, int], Awaitable[None]] | None = None) -> ImportPlan:
    """The plan (one entry per matter) when the workbook is clean, else every issue found."""
    plan = ImportPlan(issues=list(parsed.issues))
    codes = [m.code for m in parsed.matters if m.code]
    docs = await lookups.matters.many(codes)
    current = await _current_guides(lookups, docs)
    for done, matter in enumerate(parsed.matters, start=1):
        item = await _check_one(matter, department, lookups, docs.get(matter.code or ""), current, plan.issues)
        if item is not None:
            plan.items.append(item)
        if on_progress is not None:
            await on_progress(done, len(parsed.matters))
    plan.issues = sort_issues(plan.issues)
    return plan


async def _check_one(matter: ParsedMatter, department: Department, lookups: CatalogueLookups,
                     existing: dict[str, Any] | None, current: dict[str, dict[str, Any]],
                     issues: list[SheetIssue]) -> PlannedMatter | None:
    """Every problem of one matter (the import's own rules and the guide's, all at once), or its plan."""
    before = len(issues)
    matter.body.setdefault("department_code", department.code)  # a blank cell: the importing department
    claimed = matter.body["department_code"]
    if isinstance(claimed, str) and claimed != department.code:
        owner = await lookups.departments.get(claimed)  # an unknown one is check_guide's to report
        if owner is not None:
            issues.append(_place(matter, "department_code", "DEPARTMENT_NOT_IMPORTING",
                                 f"只能导入本部门（{department.name}）的事项，该行的实施部门是 {owner.name}"))
    if existing is not None and existing["department_code"] != department.code:
        issues.append(_place(matter, "code", "MATTER_CODE_TAKEN", "事项编码已被其他部门的事项使用，请换一个"))
    elif existing is not None and (existing.get("draft") or {}).get("state") == DraftState.PUBLISHING:
        issues.append(_place(matter, "code", "MATTER_STATE_CONFLICT", "该事项正在发布，请发布完成后重新上传"))
    try:
        guide, _, _ = await check_guide(matter.body, MatterCreate, departments=lookups.departments,
                                        regions=lookups.regions)
    except AppError as exc:
        for error in exc.errors:
            issue = _issue_for(matter, error.field, error.errcode, error.errmsg)
            if issue is not None:
                issues.append(issue)
        return None
    if len(issues) > before or matter.reported:
        return None
    if existing is None:
        return PlannedMatter(matter, guide, "created")
    same = current.get(guide.code) == guide.model_dump(mode="json", exclude={"code"})
    return PlannedMatter(matter, guide, "unchanged" if same else "updated", existing)


def _place(matter: ParsedMatter, path: str, errcode: str, message: str) -> SheetIssue:
    ref = matter.cells[path]
    return SheetIssue(ref.sheet, ref.row, ref.column, errcode, message, matter.code, path)
