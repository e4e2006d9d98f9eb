"""The public catalogue (no login): regions, departments, lists and search of matters, guides with ETags.

Guide reads answer from the catalogue's in-process cache with a strong `ETag`; a client that sends it back in
`If-None-Match` gets `304 Not Modified` and no body. `Cache-Control: no-cache` lets phones and proxies keep a
copy but revalidate every time, so a withdrawn or republished guide is never served stale by them. A published
version never changes, so `/versions/{n}` may be cached for a year.
"""

from __future__ import annotations

from typing import Any

from affairs import errors as AF
from affairs.catalogue_service import MatterQuery
from affairs.guide_cache import CachedGuide
from core.errors import AppError
from core.validation import validate
from mobile_api.base import BaseHandler
from mobile_api.handlers.catalogue_models import (
    DepartmentOut,
    DepartmentsOut,
    MatterPageOut,
    PublishedMatterOut,
    RegionDetailOut,
)
from mobile_api.openapi import operation

TAGS = ["办事指南"]
_QUERY_FIELDS = tuple(MatterQuery.model_fields)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as `If-None-Match` requires: `W/"x"` matches `"x"`; `*` matches anything."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == etag for candidate in if_none_match.split(","))


class _GuideResponder(BaseHandler):
    def answer(self, guide: CachedGuide, cache_control: str) -> None:
        self.set_header("ETag", guide.etag)
        self.set_header("Cache-Control", cache_control)
        if etag_matches(self.request.headers.get("If-None-Match"), guide.etag):
            self.set_status(304)
            self.finish()
            return
        self.finish(guide.body)


class RegionHandler(BaseHandler):
    @operation(summary="行政区划：本级、上级和直接下级", tags=["区划与部门"], response=RegionDetailOut,
               errors=(AF.REGION_NOT_FOUND,),
               description="代码可为市、区县（6 位）、镇街（9 位）或村社区（12 位）；撤县设市前的旧代码（如 430124）也能查到。")
    async def get(self, code: str) -> None:
        region, ancestors, children = await self.deps.catalogue.reader.region(code)
        self.send(RegionDetailOut.build(region, ancestors, children))


class DepartmentsHandler(BaseHandler):
    @operation(summary="部门列表（可按区划筛选）", tags=["区划与部门"], response=DepartmentsOut,
               description="`?region=` 列出为该区划群众服务的部门：该区划及其所有上级区划的部门。不带参数列出全部部门。")
    async def get(self) -> None:
        region = self.get_query_argument("region", None) or None
        departments = await self.deps.catalogue.reader.departments_serving(region)
        self.send(DepartmentsOut(items=[DepartmentOut.of(d) for d in departments]))


class MattersHandler(BaseHandler):
    @operation(
        summary="查找事项：按人生事件、主题、部门、区划、跑动次数筛选，或按关键词搜索", tags=TAGS, response=MatterPageOut,
        description="参数：`q`（中文、拼音全拼或首字母，如 `出生`、`chusheng`、`csyxzm`）、`life_event`、`theme`、"
        "`department`、`region`（列出该区划及其上级区划的事项）、`online_depth`（zero_visit / one_visit / on_site）、"
        "`limit`（1–50，默认 20）、`cursor`（上一页的 `next_cursor`）。按名称拼音排序；有关键词时名称命中的排在"
        "关键词命中的前面。参数有误返回 422 并指明字段。",
    )
    async def get(self) -> None:
        raw: dict[str, Any] = {}
        for name in _QUERY_FIELDS:
            value = self.get_query_argument(name, None)
            if value not in (None, ""):
                raw[name] = value
        query = validate(MatterQuery, raw)
        self.finish(await self.deps.catalogue.reader.search_page(query))


class MatterHandler(_GuideResponder):
    @operation(
        summary="办事指南（当前发布版本）", tags=TAGS, response=PublishedMatterOut, errors=(AF.MATTER_NOT_FOUND,),
        description="响应头带强 `ETag`；再次请求时带 `If-None-Match`，内容未变则返回 304（无响应体）。"
        "未发布或已撤回的事项返回 404。",
    )
    async def get(self, code: str) -> None:
        self.answer(await self.deps.catalogue.reader.guide(code), "public, no-cache")


class MatterVersionHandler(_GuideResponder):
    @operation(
        summary="办事指南的某个发布版本（办件依据的版本）", tags=TAGS, response=PublishedMatterOut,
        errors=(AF.MATTER_VERSION_NOT_FOUND,),
        description="已发布的版本永不改变（撤回或发布新版本后仍可读取），可长期缓存。",
    )
    async def get(self, code: str, version: str) -> None:
        if not version.isdigit() or not 0 < int(version) < 100_000:
            raise AppError(AF.MATTER_VERSION_NOT_FOUND)
        guide = await self.deps.catalogue.reader.version(code, int(version))
        self.answer(guide, "public, max-age=31536000, immutable")
