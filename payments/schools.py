"""Schools: the `schools` collection, and registering a school under its education department.

A school is keyed by its 统一社会信用代码 like a department (public schools are 事业单位 and have one), and that
code is what its finance staff carry as their staff `department_id`: to the staff model a school IS the
department its finance staff work in, so sign-in, sessions and the one scope check need nothing new. Schools
live in their own collection, not in `departments`, because they are not 实施机构 of the catalogue and must not
appear in its department lists.

Each school names the two departments that oversee its fees: the education department that registered it (its
`dept_admin` creates the school) and the price department (发改/物价) of the same area; both review its fee
items (payments/fee_items.py). Both must be departments whose region contains the school's region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from accounts.regions import RegionCodeInvalid, region_contains, region_prefix
from accounts.scopes import Action, Actor, Kind, Resource, authorize
from affairs.audit import AuditRepository
from affairs.departments import DepartmentKind, DepartmentRepository, uscc_problem
from affairs.regions import RegionRepository
from core.clock import bson_time
from core.errors import FORBIDDEN, VALIDATION_FAILED, AppError, FieldError
from core.mongo import Repository
from payments import fee_errors as FE


class SchoolIn(BaseModel):
    """A school as an education department's administrator registers it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(description="学校的统一社会信用代码（18 位），同时是学校财务人员账号的部门编号")
    name: str = Field(min_length=2, max_length=60, description="学校全称", examples=["宁乡市玉潭街道第一小学"])
    region_code: str = Field(description="学校所在行政区划代码（区县 6 位、镇街 9 位或村社区 12 位）")
    price_department_code: str = Field(description="负责审核收费项目的价格主管部门（发改局）编码")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        problem = uscc_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("region_code")
    @classmethod
    def _region(cls, value: str) -> str:
        try:
            region_prefix(value)
        except RegionCodeInvalid as exc:
            raise ValueError(str(exc)) from None
        return value


def school_resource(school: dict[str, Any]) -> Resource:
    """The school as the object of a scope check: (the school, its education department), its region."""
    return Resource(kind=Kind.SCHOOL, id=school["_id"],
                    department_ids=(school["_id"], school["education_department"]["code"]),
                    region_code=school["region_code"])


def overseers(school: dict[str, Any]) -> tuple[str, str]:
    return school["education_department"]["code"], school["price_department"]["code"]


class SchoolRepository(Repository):
    collection_name = "schools"
    indexes = (
        IndexModel([("education_department.code", ASCENDING), ("_id", ASCENDING)], name="education_department"),
        IndexModel([("region_prefix", ASCENDING)], name="region_prefix"),
    )

    async def insert(self, doc: dict[str, Any]) -> bool:
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, school_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": school_id})

    async def of_department(self, department_code: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"$or": [{"education_department.code": department_code},
                                               {"price_department.code": department_code}]}).sort("_id", ASCENDING)
        return [doc async for doc in cursor]


@dataclass
class Schools:
    schools: SchoolRepository
    departments: DepartmentRepository
    regions: RegionRepository
    audit: AuditRepository

    async def create(self, actor: Actor, new: SchoolIn) -> dict[str, Any]:
        """Register a school under the actor's (education) department; 422 lists every bad field at once."""
        probe = {"_id": new.code, "education_department": {"code": actor.department_id or ""},
                 "region_code": new.region_code}
        authorize(actor, Action.MANAGE, school_resource(probe))  # a dept_admin whose region contains the school
        education = await self.departments.get(actor.department_id or "")
        if education is None or education.kind != DepartmentKind.EDUCATION:
            raise AppError(FORBIDDEN, errmsg="只有教育行政部门的管理员可以登记学校")
        price = await self.departments.get(new.price_department_code)
        problems: list[FieldError] = []
        if await self.regions.get(new.region_code) is None:
            problems.append(FieldError("region_code", "REGION_UNKNOWN", f"没有代码为 {new.region_code} 的行政区划"))
        if price is None or price.kind != DepartmentKind.DEVELOPMENT_REFORM:
            problems.append(FieldError("price_department_code", "NOT_PRICE_DEPARTMENT",
                                       "须为发展和改革（价格主管）部门的编码"))
        elif not region_contains(price.region_code, new.region_code):
            problems.append(FieldError("price_department_code", "REGION_OUTSIDE_DEPARTMENT",
                                       "该价格主管部门的辖区不含学校所在区划"))
        if problems or price is None:
            raise AppError(VALIDATION_FAILED, errors=problems)
        now = bson_time()
        doc = {
            "_id": new.code, "name": new.name, "region_code": new.region_code,
            "region_prefix": region_prefix(new.region_code),
            "education_department": {"code": education.code, "name": education.name},
            "price_department": {"code": price.code, "name": price.name},
            "created_by": actor.staff_id, "created_at": now, "updated_at": now, "revision": 0,
        }
        if not await self.schools.insert(doc):
            raise AppError(FE.SCHOOL_CODE_TAKEN)
        await self.audit.append(actor=actor.staff_id or "system:school-fees", actor_department=actor.department_id,
                                action="school.create", kind="school", key=new.code, before=None,
                                after={"name": new.name, "region_code": new.region_code}, detail={"revision": 0})
        return doc

    async def load(self, school_id: str) -> dict[str, Any]:
        school = await self.schools.get(school_id)
        if school is None:
            raise AppError(FE.SCHOOL_NOT_FOUND)
        return school

    async def get(self, actor: Actor, school_id: str, action: str = Action.READ) -> dict[str, Any]:
        """The school when the actor may do `action` on it (read; act = work on its roster; manage)."""
        school = await self.load(school_id)
        authorize(actor, action, school_resource(school))
        return school
