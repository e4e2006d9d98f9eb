"""Validation of a guide as a whole: the model's own rules plus those that need the database, in one answer.

The model (`affairs.matter_model`) knows every rule a guide can break by itself. Whether the department exists,
whether the region exists, and whether the region lies inside the department's (a 宁乡市 bureau cannot publish
for 岳麓区) need the stored tree; those errors are merged with the model's, so an editor sees every bad field of
the form at once instead of fixing one round trip at a time.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError

from affairs.departments import Department, DepartmentRepository
from affairs.matter_model import MatterGuide
from affairs.regions import Region, RegionRepository
from core.errors import VALIDATION_FAILED, AppError, FieldError
from core.validation import field_errors

G = TypeVar("G", bound=MatterGuide)


async def check_guide(raw: Any, model: type[G], *, departments: DepartmentRepository,
                      regions: RegionRepository) -> tuple[G, Department, Region]:
    """The validated guide with its department and region; 422 VALIDATION_FAILED listing every bad field.
    A former region code (430124) is accepted and stored as the current one (430182)."""
    errors: list[FieldError] = []
    guide: G | None = None
    try:
        guide = model.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc)
    data = raw if isinstance(raw, dict) else {}
    department = await _department(data.get("department_code"), departments, errors)
    region = await _region(data.get("region_code"), regions, errors)
    await _co_departments(data.get("co_department_codes"), department, departments, errors)
    if department and region and not _inside(region, department):
        errors.append(FieldError("region_code", "REGION_OUTSIDE_DEPARTMENT",
                                 f"适用区划须在实施部门所在区划（{department.region_code}）之内"))
    if errors or guide is None or department is None or region is None:
        raise AppError(VALIDATION_FAILED, errors=errors)
    if guide.region_code != region.code:
        guide = guide.model_copy(update={"region_code": region.code})
    return guide, department, region


def _inside(region: Region, department: Department) -> bool:
    return region.code == department.region_code or department.region_code in region.ancestors


async def _co_departments(codes: Any, main: Department | None, departments: DepartmentRepository,
                          errors: list[FieldError]) -> None:
    """Departments reviewing in parallel (并联审批) must exist and differ from the implementing one."""
    if not isinstance(codes, list) or any(e.field.startswith("co_department_codes") for e in errors):
        return
    for position, code in enumerate(codes):
        if main is not None and code == main.code:
            errors.append(FieldError(f"co_department_codes.{position}", "DEPARTMENT_IS_MAIN",
                                     "实施部门本身就参与审查，不必列为联办部门"))
        elif await departments.get(code) is None:
            errors.append(FieldError(f"co_department_codes.{position}", "DEPARTMENT_UNKNOWN",
                                     f"没有编码为 {code} 的部门"))


async def _department(code: Any, departments: DepartmentRepository, errors: list[FieldError]) -> Department | None:
    if not isinstance(code, str) or not code or any(e.field == "department_code" for e in errors):
        return None
    department = await departments.get(code)
    if department is None:
        errors.append(FieldError("department_code", "DEPARTMENT_UNKNOWN", f"没有编码为 {code} 的部门"))
    return department


async def _region(code: Any, regions: RegionRepository, errors: list[FieldError]) -> Region | None:
    if not isinstance(code, str) or not code or any(e.field == "region_code" for e in errors):
        return None
    region = await regions.get(code)
    if region is None:
        errors.append(FieldError("region_code", "REGION_UNKNOWN", f"没有代码为 {code} 的行政区划"))
    return region
