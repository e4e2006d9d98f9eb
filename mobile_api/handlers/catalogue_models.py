"""Response models of the catalogue endpoints (what the OpenAPI document shows). Request bodies are the domain
models themselves (`affairs.matter_model.MatterCreate`, `MatterGuide`): one definition of a guide."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from accounts.regions import RegionLevel
from affairs.departments import Department, DepartmentKind
from affairs.matter_model import MatterGuide, MatterType, OnlineDepth, ServiceTarget, Tongban
from affairs.matters import status_of
from affairs.regions import Region


class RegionOut(BaseModel):
    code: str = Field(description="行政区划代码")
    name: str
    level: RegionLevel = Field(description="city 市，district 区县，town 镇街，village 村社区")
    parent_code: str | None

    @classmethod
    def of(cls, region: Region) -> RegionOut:
        return cls(code=region.code, name=region.name, level=region.level, parent_code=region.parent_code)


class RegionDetailOut(RegionOut):
    former_codes: list[str] = Field(description="曾用代码")
    ancestors: list[RegionOut] = Field(description="上级区划，从市到直接上级")
    children: list[RegionOut] = Field(description="直接下级区划")

    @classmethod
    def build(cls, region: Region, ancestors: list[Region], children: list[Region]) -> RegionDetailOut:
        return cls(code=region.code, name=region.name, level=region.level, parent_code=region.parent_code,
                   former_codes=list(region.former_codes), ancestors=[RegionOut.of(r) for r in ancestors],
                   children=[RegionOut.of(r) for r in children])


class DepartmentOut(BaseModel):
    code: str = Field(description="统一社会信用代码，也是部门编号")
    name: str
    kind: DepartmentKind
    region_code: str
    level: RegionLevel = Field(description="部门层级（由所在区划决定）")
    phone: str = Field(description="办公电话")
    address: str

    @classmethod
    def of(cls, department: Department) -> DepartmentOut:
        return cls(code=department.code, name=department.name, kind=department.kind,
                   region_code=department.region_code, level=department.level, phone=department.phone,
                   address=department.address)


class DepartmentsOut(BaseModel):
    items: list[DepartmentOut]


class NamedRef(BaseModel):
    code: str
    name: str


class MatterCardOut(BaseModel):
    """One row of a list or search page."""

    code: str
    version: int = Field(description="当前发布版本号")
    name: str
    type: MatterType
    summary: str = Field(description="简介（前 80 字）")
    department: NamedRef
    region: NamedRef
    targets: list[ServiceTarget]
    online_depth: OnlineDepth
    max_visits: int | None = Field(description="最多跑几次：0 不用跑，1 最多跑一次，空表示须现场办理")
    promised_days: int = Field(description="承诺办结时限（工作日）")
    instant: bool = Field(description="即办件")
    free: bool
    fee_fen: int | None = Field(description="收费金额（分）")
    tongban: Tongban
    life_events: list[str]
    themes: list[str]


class MatterPageOut(BaseModel):
    items: list[MatterCardOut]
    next_cursor: str | None = Field(description="下一页的游标；为空表示已是最后一页")


class DepartmentRef(NamedRef):
    phone: str
    address: str


class PublishedMatterOut(MatterGuide):
    """A published version of the guide: every element, said once (一次告知)."""

    code: str
    version: int = Field(description="版本号；办件记录其申请时依据的版本")
    etag: str = Field(description="版本内容摘要，与响应头 ETag 相同")
    published_at: datetime
    max_visits: int | None = Field(description="最多跑几次：0 不用跑，1 最多跑一次，空表示须现场办理")
    department: DepartmentRef = Field(description="实施部门（发布时的名称和电话）")
    region: NamedRef = Field(description="适用区划")


class DraftOut(BaseModel):
    version: int = Field(description="草稿将成为的版本号")
    state: Literal["draft", "under_review", "publishing"]
    updated_at: datetime
    updated_by: str
    guide: dict[str, Any] = Field(description="草稿内容（与新建/修改时提交的字段相同）")


class MatterAdminOut(BaseModel):
    """A matter as its department admins see it: status, working draft, live version."""

    code: str
    department_code: str
    status: Literal["draft", "under_review", "published", "withdrawn"]
    draft: DraftOut | None = Field(description="正在编辑或审核的草稿；没有时为空")
    published_version: int | None = Field(description="当前对外发布的版本号；未发布或已撤回时为空")
    latest_version: int = Field(description="发布过的最高版本号（0 表示从未发布）")
    revision: int = Field(description="修改计数")
    updated_at: datetime

    @classmethod
    def of(cls, doc: dict[str, Any]) -> MatterAdminOut:
        draft = doc.get("draft")
        return cls(
            code=doc["_id"], department_code=doc["department_code"], status=status_of(doc),  # type: ignore[arg-type]
            draft=DraftOut(**draft) if draft else None,
            published_version=doc["published"]["version"] if doc.get("listed") else None,
            latest_version=doc["latest_version"], revision=doc["revision"], updated_at=doc["updated_at"],
        )
