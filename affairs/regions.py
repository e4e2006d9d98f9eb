"""The region tree 市 → 区/县 → 镇/街道 → 村/社区 with official codes, stored one document per region.

Codes follow GB/T 2260 for the city and county levels (6 digits: `430100` 长沙市, `430182` 宁乡市) and the
statistics bureau's extension below (9 digits for a 镇/街道 `430182102`, 12 for a 村/社区 `430182102201`). The
grammar of a code and prefix containment live in `accounts.regions` (staff scopes need them without a database);
this module adds what only the stored tree knows: names, parent links, and codes that were renamed. 宁乡县 became
宁乡市 in 2017 (430124 → 430182) and people's ID numbers still carry the old code, so a region keeps its
`former_codes` and every lookup accepts them.

Each document stores its ancestors (root first), so "the region and everything above it" (which matters apply to
a person living here) and "everything below it" (what a county officer oversees) are one indexed query each.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, IndexModel

from accounts.regions import RegionCodeInvalid, RegionLevel, region_contains, region_level
from core.mongo import Repository

_DEPTH = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.DISTRICT: 2, RegionLevel.TOWN: 3,
          RegionLevel.VILLAGE: 4}
LEVEL_LABELS: dict[RegionLevel, str] = {
    RegionLevel.PROVINCE: "省", RegionLevel.CITY: "市", RegionLevel.DISTRICT: "区县", RegionLevel.TOWN: "镇街",
    RegionLevel.VILLAGE: "村社区",
}


class Region(BaseModel):
    """One node of the tree, as stored and as answered."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="行政区划代码：市/区县 6 位（GB/T 2260），镇街 9 位，村社区 12 位")
    name: str = Field(description="名称，如 宁乡市、花明楼镇、炭子冲村")
    level: RegionLevel = Field(description="层级：city 市，district 区县，town 镇街，village 村社区")
    parent_code: str | None = Field(description="上级区划代码；根节点（市）为空")
    ancestors: tuple[str, ...] = Field(default=(), description="全部上级区划代码，从根到直接上级")
    former_codes: tuple[str, ...] = Field(default=(), description="曾用代码（如撤县设市前的 430124）")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Region:
        return cls(code=doc["_id"], name=doc["name"], level=doc["level"], parent_code=doc.get("parent_code"),
                   ancestors=tuple(doc.get("ancestors", ())), former_codes=tuple(doc.get("former_codes", ())))


def check_placement(code: str, parent: Region | None) -> RegionLevel:
    """The level of `code` placed under `parent`, or RegionCodeInvalid (Chinese message) when the code cannot
    sit there: a child is exactly one level deeper and its code lies inside the parent's. Only a city (or a
    province) may be a root, so a tree never starts in the middle."""
    level = region_level(code)
    if parent is None:
        if level not in (RegionLevel.PROVINCE, RegionLevel.CITY):
            raise RegionCodeInvalid("区县、镇街、村社区必须挂在上级区划之下")
        return level
    if _DEPTH[level] != _DEPTH[parent.level] + 1:
        raise RegionCodeInvalid(f"{LEVEL_LABELS[level]}级代码 {code} 不能直接挂在{LEVEL_LABELS[parent.level]}级区划之下")
    if not region_contains(parent.code, code):
        raise RegionCodeInvalid(f"代码 {code} 不属于上级区划 {parent.code}")
    return level


class RegionRepository(Repository):
    collection_name = "regions"
    indexes = (
        IndexModel([("parent_code", ASCENDING), ("_id", ASCENDING)], name="parent_code"),
        IndexModel([("ancestors", ASCENDING)], name="ancestors"),
        IndexModel([("former_codes", ASCENDING)], name="former_codes"),
    )

    async def upsert(self, code: str, name: str, parent_code: str | None,
                     former_codes: Iterable[str] = ()) -> Region:
        """Create or rename a region. The parent must exist already (seed top-down); RegionCodeInvalid says why
        a code cannot be placed. Moving a region to another parent is not supported: codes encode the parent."""
        parent = await self.get(parent_code) if parent_code else None
        if parent_code and parent is None:
            raise RegionCodeInvalid(f"上级区划 {parent_code} 不存在")
        level = check_placement(code, parent)
        ancestors = [*parent.ancestors, parent.code] if parent else []
        doc = {"name": name, "level": level.value, "parent_code": parent.code if parent else None,
               "ancestors": ancestors, "former_codes": sorted(set(former_codes))}
        await self.collection.update_one({"_id": code}, {"$set": doc}, upsert=True)
        return Region.of({"_id": code, **doc})

    async def get(self, code: str) -> Region | None:
        """The region with this code or with this former code (宁乡县 430124 finds 宁乡市 430182)."""
        doc = await self.collection.find_one({"_id": code}) or await self.collection.find_one({"former_codes": code})
        return Region.of(doc) if doc else None

    async def children(self, code: str) -> list[Region]:
        return [Region.of(doc) async for doc in self.collection.find({"parent_code": code}).sort("_id", ASCENDING)]

    async def ancestors(self, region: Region) -> list[Region]:
        """The regions above `region`, root first."""
        if not region.ancestors:
            return []
        found = {doc["_id"]: Region.of(doc) async for doc in self.collection.find({"_id": {"$in": list(region.ancestors)}})}
        return [found[code] for code in region.ancestors if code in found]

    async def subtree_codes(self, code: str) -> list[str]:
        """`code` and every code below it, sorted."""
        below = [doc["_id"] async for doc in self.collection.find({"ancestors": code}, {"_id": 1})]
        return sorted([code, *below])

    async def names(self, codes: Iterable[str]) -> dict[str, str]:
        wanted = list(set(codes))
        return {doc["_id"]: doc["name"] async for doc in self.collection.find({"_id": {"$in": wanted}}, {"name": 1})}


def lineage(region: Region) -> tuple[str, ...]:
    """The region and every region above it (root first): the regions whose matters apply to a person here."""
    return (*region.ancestors, region.code)
