"""The catalogue's repositories against the real MongoDB wire-protocol server: indexes, the region tree, the
idempotent demo seed, and search queries on the stored terms."""

from __future__ import annotations

import pytest

from accounts.regions import RegionCodeInvalid
from affairs.catalogue_service import MatterQuery
from affairs.demo_catalogue import DEMO_MATTERS, SeedReport, seed_catalogue
from affairs.demo_kit import DEPARTMENTS, REGIONS
from config.wiring import Dependencies


async def test_catalogue_indexes_are_created(deps: Dependencies) -> None:
    matters = await deps.db["matters"].index_information()
    assert {"listed_sort", "terms", "life_events", "themes", "published_region", "department"} <= set(matters)
    versions = await deps.db["matter_versions"].index_information()
    assert versions["matter_version"]["unique"] is True
    assert {"parent_code", "ancestors", "former_codes"} <= set(await deps.db["regions"].index_information())
    assert "region_code" in await deps.db["departments"].index_information()
    assert "subject" in await deps.db["audit_log"].index_information()


async def test_search_uses_the_terms_index(deps: Dependencies, demo_catalogue: SeedReport) -> None:
    plan = await deps.db["matters"].find({"published.terms": "csyxzm", "listed": True}).explain()
    assert "terms" in str(plan["queryPlanner"]["winningPlan"])


async def test_demo_seed_is_complete_and_idempotent(deps: Dependencies, demo_catalogue: SeedReport) -> None:
    assert len(DEMO_MATTERS) >= 30 and len(DEPARTMENTS) >= 10
    levels = [len(code) for code, *_ in REGIONS]
    assert levels.count(6) == 3 and levels.count(9) == 3 and levels.count(12) == 4  # city + 2 districts
    again = await seed_catalogue(deps)
    assert again.matters["created"] == [] and again.matters["updated"] == []
    assert sorted(again.matters["unchanged"]) == sorted(raw["code"] for raw in DEMO_MATTERS)
    listed = await deps.db["matters"].count_documents({"_id": {"$in": [r["code"] for r in DEMO_MATTERS]},
                                                       "listed": True})
    assert listed == len(DEMO_MATTERS)


async def test_region_ancestry_subtree_and_former_codes(deps: Dependencies, demo_catalogue: SeedReport) -> None:
    regions = deps.catalogue.regions
    village = await regions.get("430182102201")
    assert village is not None and village.name == "炭子冲村" and village.level == "village"
    assert [r.name for r in await regions.ancestors(village)] == ["长沙市", "宁乡市", "花明楼镇"]
    subtree = await regions.subtree_codes("430182")
    assert {"430182", "430182001", "430182102", "430182102201", "430182102202", "430182001002"} <= set(subtree)
    assert not any(code.startswith("430104") for code in subtree)
    renamed = await regions.get("430124")  # 宁乡县 before 2017: people's ID numbers still carry it
    assert renamed is not None and renamed.code == "430182"
    assert [r.code for r in await regions.children("430100")] == ["430104", "430182"]


async def test_region_placement_is_checked_against_the_stored_parent(deps: Dependencies,
                                                                     demo_catalogue: SeedReport) -> None:
    regions = deps.catalogue.regions
    with pytest.raises(RegionCodeInvalid, match="不属于上级区划"):
        await regions.upsert("430104005999", "错挂社区", "430182001")
    with pytest.raises(RegionCodeInvalid, match="不能直接挂在"):
        await regions.upsert("430182102299", "跳级村", "430182")
    with pytest.raises(RegionCodeInvalid, match="不存在"):
        await regions.upsert("430199001", "无主街道", "430199")


async def test_search_tiers_filters_and_pages(deps: Dependencies, demo_catalogue: SeedReport) -> None:
    reader = deps.catalogue.reader
    page = await reader.search(MatterQuery(q="营业执照", limit=50))
    names = [item["name"] for item in page["items"]]
    assert names[:2] == ["企业设立登记（营业执照）"] * 2  # name hits first (宁乡 and 岳麓) …
    assert "个体工商户设立登记" in names[2:]  # … then the keyword hits
    village = await reader.search(MatterQuery(region="430182102201", limit=50))
    regions = {item["region"]["code"] for item in village["items"]}
    assert regions == {"430100", "430182", "430182102"}
    first = await reader.search(MatterQuery(life_event="birth", limit=3))
    second = await reader.search(MatterQuery(life_event="birth", limit=3, cursor=first["next_cursor"]))
    assert not {i["code"] for i in first["items"]} & {i["code"] for i in second["items"]}
