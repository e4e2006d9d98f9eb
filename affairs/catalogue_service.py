"""Reading the catalogue (public, no login): regions, departments, lists and search of published matters,
guide reads with ETags from an in-process cache; and `Catalogue`, the composition the wiring puts on
`Dependencies`.

Lists are ordered by the name's pinyin, then code, and paged by cursor (`core.cursors`). A search runs in two
tiers — matters whose name matches every query term first, then those matched through their keywords — each in
that same order, and the cursor remembers the tier. "Matters of a region" are those whose region is the region
itself or above it: a person in 炭子冲村 is served by 宁乡市 and 长沙市 matters as well as the village's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import Field
from pymongo.asynchronous.database import AsyncDatabase

from affairs import errors as AF
from affairs.audit import AuditRepository
from affairs.catalogue_export import CatalogueExport
from affairs.departments import Department, DepartmentRepository
from affairs.guide_cache import CachedGuide, GuideCache, SingleFlight
from affairs.matter_model import LifeEvent, OnlineDepth, Strict, Theme
from affairs.matter_repository import MatterRepository, MatterVersionRepository
from affairs.matters import MatterAdmin
from affairs.published import render_version
from affairs.regions import Region, RegionRepository, lineage
from affairs.search_terms import MAX_QUERY_CHARS, query_terms
from core.cursors import CursorInvalid, decode_cursor, encode_cursor
from core.errors import VALIDATION_FAILED, AppError, FieldError

GUIDE_TTL_S = 10.0


class MatterQuery(Strict):
    """The query string of `GET /api/v1/matters`."""

    q: str | None = Field(None, max_length=MAX_QUERY_CHARS, description="关键词：中文、拼音全拼或首字母（如 csyxzm）")
    life_event: LifeEvent | None = Field(None, description="人生事件，如 birth")
    theme: Theme | None = Field(None, description="主题，如 household_registration")
    department: str | None = Field(None, max_length=18, description="实施部门编码")
    region: str | None = Field(None, max_length=12, description="行政区划代码：列出该区划及其上级区划的事项")
    online_depth: OnlineDepth | None = Field(None, description="zero_visit / one_visit / on_site")
    cursor: str | None = Field(None, max_length=512, description="上一页返回的 next_cursor")
    limit: int = Field(20, ge=1, le=50, description="每页条数")


def _json_bytes(payload: dict[str, Any]) -> bytes:
    def default(value: Any) -> str:
        return value.isoformat() if isinstance(value, datetime) else str(value)

    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=default).encode()


def _bad(field_name: str, errcode: str, message: str) -> AppError:
    return AppError(VALIDATION_FAILED, errors=[FieldError(field_name, errcode, message)])


@dataclass
class CatalogueReader:
    matters: MatterRepository
    versions: MatterVersionRepository
    departments: DepartmentRepository
    regions: RegionRepository
    live: GuideCache = field(default_factory=lambda: GuideCache(ttl_s=GUIDE_TTL_S))
    frozen: GuideCache = field(default_factory=lambda: GuideCache(ttl_s=None))  # versions never change
    # Search and list pages, keyed by the whole query: the same few queries ("出生", a life event) are asked by
    # many phones, and each miss costs one or two indexed queries. Emptied on any publish/withdraw here.
    pages: GuideCache = field(default_factory=lambda: GuideCache(ttl_s=GUIDE_TTL_S, max_entries=2048))
    loads: SingleFlight = field(default_factory=SingleFlight)

    # -- guides ---------------------------------------------------------------------------------------------
    async def guide(self, code: str) -> CachedGuide:
        """The latest published version of a listed matter, rendered; MATTER_NOT_FOUND when not listed."""
        cached = self.live.get(code)
        if cached is not None:
            return cached
        return await self.loads.run(("guide", code), lambda: self._load_guide(code))

    async def _load_guide(self, code: str) -> CachedGuide:
        generation = self.live.generation(code)
        state = await self.matters.listed_state(code)
        if not state or not state.get("listed"):
            raise AppError(AF.MATTER_NOT_FOUND)
        version = await self._version(code, state["published"]["version"])
        return self.live.put(code, version.etag, version.body, generation=generation)

    async def version(self, code: str, number: int) -> CachedGuide:
        """One published version, withdrawn or superseded or not (cases cite it)."""
        return await self._version(code, number)

    async def _version(self, code: str, number: int) -> CachedGuide:
        key = (code, number)
        cached = self.frozen.get(key)
        if cached is not None:
            return cached
        doc = await self.versions.get(code, number)
        if doc is None:
            raise AppError(AF.MATTER_VERSION_NOT_FOUND)
        return self.frozen.put(key, doc["etag"], _json_bytes(render_version(doc)),
                               generation=self.frozen.generation(key))

    def forget(self, code: str) -> None:
        """After a publish or withdraw in this process (other processes: within GUIDE_TTL_S)."""
        self.live.invalidate(code)
        self.pages.invalidate_all()

    async def search_page(self, query: MatterQuery) -> bytes:
        """`search` rendered to JSON bytes, from the page cache when the same query was answered lately."""
        key = query.model_dump_json()
        cached = self.pages.get(key)
        if cached is not None:
            return cached.body
        return await self.loads.run(("page", key), lambda: self._load_page(key, query))

    async def _load_page(self, key: str, query: MatterQuery) -> bytes:
        generation = self.pages.generation(key)
        body = _json_bytes(await self.search(query))
        return self.pages.put(key, "", body, generation=generation).body

    # -- lists and search -----------------------------------------------------------------------------------
    async def search(self, query: MatterQuery) -> dict[str, Any]:
        """One page: `{"items": [card…], "next_cursor": str | None}`."""
        filters = await self._filters(query)
        terms = query_terms(query.q) if query.q and query.q.strip() else []
        if query.q and query.q.strip() and not terms:
            return {"items": [], "next_cursor": None}  # only punctuation: nothing can match
        fingerprint = {"filters": filters, "terms": terms}
        position: list[Any] | None = None
        if query.cursor:
            try:
                position = decode_cursor(query.cursor, fingerprint, size=3)
            except CursorInvalid as exc:
                raise _bad("cursor", "CURSOR_INVALID", str(exc)) from None
        if terms:
            by_name = {"published.name_terms": {"$all": terms}}
            tiers = [(1, {**filters, "published.terms": {"$all": terms}, **by_name}),
                     (2, {**filters, "published.terms": {"$all": terms}, "$nor": [by_name]})]
        else:
            tiers = [(0, filters)]
        rows: list[tuple[int, dict[str, Any]]] = []
        for tier, mongo_query in tiers:
            if position is not None and tier < position[0]:
                continue
            after = (str(position[1]), str(position[2])) if position is not None and tier == position[0] else None
            found = await self.matters.listed_page(mongo_query, after=after, limit=query.limit + 1 - len(rows))
            rows.extend((tier, doc) for doc in found)
            if len(rows) > query.limit:
                break
        page, more = rows[:query.limit], len(rows) > query.limit
        next_cursor = None
        if more:
            tier, last = page[-1]
            next_cursor = encode_cursor([tier, last["published"]["sort_key"], last["_id"]], fingerprint)
        return {"items": [doc["published"]["card"] for _, doc in page], "next_cursor": next_cursor}

    async def _filters(self, query: MatterQuery) -> dict[str, Any]:
        filters: dict[str, Any] = {}
        if query.life_event:
            filters["published.life_events"] = query.life_event
        if query.theme:
            filters["published.themes"] = query.theme
        if query.online_depth:
            filters["published.online_depth"] = query.online_depth.value
        if query.department:
            if await self.departments.get(query.department) is None:
                raise _bad("department", "DEPARTMENT_UNKNOWN", f"没有编码为 {query.department} 的部门")
            filters["published.department_code"] = query.department
        if query.region:
            region = await self.regions.get(query.region)
            if region is None:
                raise _bad("region", "REGION_UNKNOWN", f"没有代码为 {query.region} 的行政区划")
            filters["published.region_code"] = {"$in": list(lineage(region))}
        return filters

    # -- regions and departments ----------------------------------------------------------------------------
    async def region(self, code: str) -> tuple[Region, list[Region], list[Region]]:
        """The region, its ancestors (root first) and its children; REGION_NOT_FOUND when unknown."""
        region = await self.regions.get(code)
        if region is None:
            raise AppError(AF.REGION_NOT_FOUND)
        return region, await self.regions.ancestors(region), await self.regions.children(region.code)

    async def departments_serving(self, region_code: str | None) -> list[Department]:
        """Departments of the region and of every region above it (those that serve people living there);
        every department when no region is given."""
        if region_code is None:
            return await self.departments.all()
        region = await self.regions.get(region_code)
        if region is None:
            raise _bad("region", "REGION_UNKNOWN", f"没有代码为 {region_code} 的行政区划")
        return await self.departments.in_regions(lineage(region))


@dataclass
class Catalogue:
    """Everything of the catalogue one process needs, built once from the database handle."""

    regions: RegionRepository
    departments: DepartmentRepository
    reader: CatalogueReader
    admin: MatterAdmin
    export: CatalogueExport

    @classmethod
    def from_db(cls, db: AsyncDatabase[dict[str, Any]]) -> Catalogue:
        regions, departments = RegionRepository(db), DepartmentRepository(db)
        matters, versions = MatterRepository(db), MatterVersionRepository(db)
        reader = CatalogueReader(matters, versions, departments, regions)
        admin = MatterAdmin(matters, versions, departments, regions, AuditRepository(db),
                            on_published_change=reader.forget)
        export = CatalogueExport(matters, versions, departments, regions)
        return cls(regions=regions, departments=departments, reader=reader, admin=admin, export=export)

