"""Departments (实施机构): who implements a matter, at which level of the region tree.

A department is keyed by its 统一社会信用代码 (GB 32100, 18 characters with two check characters). Government
organs already have one, it never changes over the organisation's life and it is unique nationwide, so matters
and staff records reference it directly (`department_code`; a staff record's `department_id` holds it too) and
there is no second key to keep in sync. The check characters are verified, so a mistyped code is refused when a
department is written instead of becoming a department nobody can find.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo import ASCENDING, IndexModel

from accounts.regions import RegionLevel, region_level
from affairs.office_phone import OfficePhone
from core.mongo import Repository

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: 31 characters, no I O S V Z
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code, positions 9–17 of the USCC
_USCC_RE = re.compile(rf"^[{_USCC_CHARS}]{{2}}\d{{6}}[0-9A-Z]{{8}}[0-9X][{_USCC_CHARS}]$")


class DepartmentKind(StrEnum):
    """The line of work, which also tells residents which window to look for."""

    PUBLIC_SECURITY = "公安"
    HUMAN_RESOURCES = "人社"
    HEALTHCARE_SECURITY = "医保"
    HOUSING_FUND = "公积金"
    REAL_ESTATE = "不动产"
    EDUCATION = "教育"
    CIVIL_AFFAIRS = "民政"
    HEALTH = "卫健"
    MARKET_REGULATION = "市场监管"
    TAX = "税务"
    DEVELOPMENT_REFORM = "发改"  # 发展和改革（物价）
    SERVICE_CENTER = "便民服务"  # 镇街便民服务中心, 村社区便民服务站


def _org_check(body: str) -> str:
    total = sum(int(ch, 36) * weight for ch, weight in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def _uscc_check(first17: str) -> str:
    total = sum(_USCC_CHARS.index(ch) * weight for ch, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """None for a well-formed 统一社会信用代码, otherwise the Chinese reason."""
    if not _USCC_RE.match(code):
        return "统一社会信用代码须为 18 位数字或大写字母"
    if _org_check(code[8:16]) != code[16]:
        return "统一社会信用代码中的组织机构代码校验位不正确"
    if _uscc_check(code[:17]) != code[17]:
        return "统一社会信用代码的校验位不正确"
    return None


def make_uscc(region_code: str, body: str, *, authority: str = "1", org_type: str = "1") -> str:
    """A valid code from its parts (demo data): `1` 机构编制 + `1` 机关 (or `2` 事业单位) + region + 8-char body."""
    first16 = f"{authority}{org_type}{region_code[:6]}{body}"
    first17 = first16 + _org_check(body)
    return first17 + _uscc_check(first17)


class Department(BaseModel):
    """A department as written by an administrator (or the demo seed) and as answered."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    code: str = Field(description="统一社会信用代码（18 位），同时是部门的编号", examples=["11430182006185578L"])
    name: str = Field(min_length=2, max_length=60, description="部门全称", examples=["宁乡市公安局"])
    kind: DepartmentKind = Field(description="部门类别：公安、人社、医保、公积金、不动产、教育、民政、卫健……")
    region_code: str = Field(description="所在行政区划代码（部门属于哪一级：市、区县、镇街）")
    phone: OfficePhone = Field(description="对外办公电话（固定电话或服务热线）", examples=["0731-87881234"])
    address: str = Field(min_length=2, max_length=120, description="办公地址")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        problem = uscc_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @property
    def level(self) -> RegionLevel:
        """市级、区县级、镇街级 — read from the region code, never stored apart from it."""
        return region_level(self.region_code)

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Department:
        return cls.model_validate({"code": doc["_id"], **{k: doc[k] for k in
                                   ("name", "kind", "region_code", "phone", "address")}})


class DepartmentRepository(Repository):
    collection_name = "departments"
    indexes = (IndexModel([("region_code", ASCENDING), ("_id", ASCENDING)], name="region_code"),)

    async def upsert(self, department: Department) -> None:
        """The caller checks that the region exists (the repository only stores)."""
        doc = department.model_dump(mode="json", exclude={"code"})
        doc["level"] = department.level.value
        await self.collection.update_one({"_id": department.code}, {"$set": doc}, upsert=True)

    async def get(self, code: str) -> Department | None:
        doc = await self.collection.find_one({"_id": code})
        return Department.of(doc) if doc else None

    async def in_regions(self, region_codes: Iterable[str]) -> list[Department]:
        """Departments located in any of these regions, by region then code (so upper levels come first when
        the codes are a lineage)."""
        query = {"region_code": {"$in": list(region_codes)}}
        cursor = self.collection.find(query).sort([("region_code", ASCENDING), ("_id", ASCENDING)])
        return [Department.of(doc) async for doc in cursor]

    async def all(self) -> list[Department]:
        """Every department (tens per city): by region, then code."""
        cursor = self.collection.find({}).sort([("region_code", ASCENDING), ("_id", ASCENDING)])
        return [Department.of(doc) async for doc in cursor]
