"""The catalogue over HTTP, as the mini-program and a department admin use it: browse, search (Chinese words and
pinyin initials), read a guide with ETag/304, publish and withdraw by the right admin only, 422 naming fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from affairs.demo_catalogue import SeedReport
from affairs.demo_kit import DEPT
from config.wiring import Dependencies
from tests.support.catalogue import Caller, guide_of, new_matter, resident_caller, staff_caller

pytestmark = pytest.mark.usefixtures("demo_catalogue")


async def _all(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/matters", params={"limit": 50, **params})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]


async def test_browse_by_life_event_department_region_and_visits(api: httpx.AsyncClient) -> None:
    birth = {m["name"] for m in await _all(api, life_event="birth")}
    assert {"出生医学证明首次签发", "户口登记（出生登记）", "新生儿参保登记（城乡居民基本医疗保险）"} <= birth
    police = await _all(api, department=DEPT["nx_police"])
    assert police and {m["department"]["name"] for m in police} == {"宁乡市公安局"}
    village = await _all(api, region="430182102201")  # 炭子冲村: its town's, county's and city's matters
    assert {m["region"]["code"] for m in village} == {"430100", "430182", "430182102"}
    yuelu = await _all(api, region="430104")
    assert "430182" not in {m["region"]["code"] for m in yuelu} and len(yuelu) >= 3
    on_site = {m["name"] for m in await _all(api, online_depth="on_site")}
    assert "内地居民结婚登记" in on_site
    card = next(m for m in police if m["code"] == "430182-GA-0002")
    assert card["free"] is False and card["fee_fen"] == 2000 and card["max_visits"] is None


async def test_search_chinese_words_and_pinyin_initials(api: httpx.AsyncClient) -> None:
    born = await _all(api, q="出生")
    assert born[0]["name"] == "出生医学证明首次签发"
    assert "户口登记（出生登记）" in {m["name"] for m in born}
    for query in ("csyxzm", "医学证明", "chusheng", "ＣＳＹＸ"):
        found = await _all(api, q=query)
        assert found and found[0]["code"] == "430182-WJ-0001", query
    licence = [m["name"] for m in await _all(api, q="营业执照")]
    assert licence[:2] == ["企业设立登记（营业执照）"] * 2  # name hits (宁乡, 岳麓) before keyword hits
    assert "个体工商户设立登记" in licence[2:]
    in_yuelu = {m["code"] for m in await _all(api, q="营业执照", region="430104")}
    assert "430104-SJ-0001" in in_yuelu and "430182-SJ-0001" not in in_yuelu
    assert await _all(api, q="不存在的事项名称") == []


async def test_pages_follow_stable_cursors(api: httpx.AsyncClient) -> None:
    expected = [m["code"] for m in await _all(api, theme="medical_insurance")]
    seen: list[str] = []
    params: dict[str, Any] = {"theme": "medical_insurance", "limit": 2}
    while True:
        page = (await api.get("/api/v1/matters", params=params)).json()
        seen += [m["code"] for m in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == expected and len(seen) > 2
    other = await api.get("/api/v1/matters", params={"theme": "education", "cursor": params["cursor"]})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "cursor"


async def test_bad_query_parameters_name_the_field(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/matters", params={"life_event": "born", "limit": "500", "region": "999999"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"life_event", "limit"} <= fields
    unknown_region = await api.get("/api/v1/matters", params={"region": "430199"})
    assert unknown_region.status_code == 422 and unknown_region.json()["errors"][0]["field"] == "region"


async def test_guide_read_with_etag_and_304(api: httpx.AsyncClient) -> None:
    first = await api.get("/api/v1/matters/430182-GA-0001")
    assert first.status_code == 200, first.text
    etag = first.headers["ETag"]
    assert etag.startswith('"v') and first.headers["Cache-Control"] == "public, no-cache"
    guide = first.json()
    assert guide["etag"] == etag and guide["version"] >= 1 and guide["name"] == "户口登记（出生登记）"
    assert guide["department"]["name"] == "宁乡市公安局" and guide["region"]["name"] == "宁乡市"
    assert {m["ecert_type"] for m in guide["materials"]} >= {"birth_medical_certificate", "household_register"}
    assert guide["form_schema"]["properties"]["child_name"]["title"] == "新生儿姓名"
    for header in (etag, f"W/{etag}", f'"stale", {etag}'):
        again = await api.get("/api/v1/matters/430182-GA-0001", headers={"If-None-Match": header})
        assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    stale = await api.get("/api/v1/matters/430182-GA-0001", headers={"If-None-Match": '"v0-stale"'})
    assert stale.status_code == 200 and stale.json() == guide
    missing = await api.get("/api/v1/matters/NO-SUCH-MATTER")
    assert missing.status_code == 404 and missing.json()["errcode"] == "MATTER_NOT_FOUND"
    version = await api.get(f"/api/v1/matters/430182-GA-0001/versions/{guide['version']}")
    assert version.status_code == 200 and version.headers["ETag"] == etag and "immutable" in version.headers[
        "Cache-Control"]
    assert (await api.get("/api/v1/matters/430182-GA-0001/versions/999")).json()["errcode"] == \
        "MATTER_VERSION_NOT_FOUND"


async def test_regions_and_departments(api: httpx.AsyncClient) -> None:
    town = (await api.get("/api/v1/regions/430182102")).json()
    assert town["name"] == "花明楼镇" and [r["name"] for r in town["ancestors"]] == ["长沙市", "宁乡市"]
    assert {c["name"] for c in town["children"]} == {"炭子冲村", "刘家台村"}
    assert (await api.get("/api/v1/regions/430124")).json()["code"] == "430182"
    assert (await api.get("/api/v1/regions/430199")).json()["errcode"] == "REGION_NOT_FOUND"
    serving = (await api.get("/api/v1/departments", params={"region": "430182102201"})).json()["items"]
    names = {d["name"] for d in serving}
    assert {"宁乡市花明楼镇便民服务中心", "宁乡市公安局", "长沙住房公积金管理中心"} <= names
    assert "长沙市岳麓区教育局" not in names and len(names) >= 10


@pytest.fixture(scope="module")
async def callers(deps: Dependencies, demo_catalogue: SeedReport) -> dict[str, Caller]:
    return {
        "civil_admin": await staff_caller(deps, DEPT["nx_civil"]),
        "police_admin": await staff_caller(deps, DEPT["nx_police"]),
        "civil_staff": await staff_caller(deps, DEPT["nx_civil"], roles=("staff",)),
        "resident": await resident_caller(deps),
    }


async def test_publish_and_withdraw_by_the_right_admin_only(api: httpx.AsyncClient,
                                                            callers: dict[str, Caller]) -> None:
    admin, other, staff, resident = (callers[k].headers for k in ("civil_admin", "police_admin", "civil_staff",
                                                                    "resident"))
    body = new_matter()
    code = body["code"]
    base = f"/api/v1/admin/matters/{code}"
    created = await api.post("/api/v1/admin/matters", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft" and created.json()["draft"]["version"] == 1
    refused = await api.post("/api/v1/admin/matters", json=new_matter(), headers=other)
    assert refused.status_code == 403 and refused.json()["errcode"] == "FORBIDDEN"
    assert (await api.post(f"{base}/submit", headers=admin)).json()["status"] == "under_review"
    for headers, errcode in ((other, "FORBIDDEN"), (staff, "FORBIDDEN"), (resident, "STAFF_ONLY")):
        response = await api.post(f"{base}/publish", headers=headers)
        assert response.status_code == 403 and response.json()["errcode"] == errcode
    assert (await api.post(f"{base}/publish")).status_code == 401
    assert await _all(api, q=body["name"]) == []  # not yet published (and this empty page is now cached)
    published = await api.post(f"{base}/publish", headers=admin)
    assert published.status_code == 200 and published.json()["published_version"] == 1
    assert [m["code"] for m in await _all(api, q=body["name"])] == [code]
    guide = await api.get(f"/api/v1/matters/{code}")
    assert guide.status_code == 200 and guide.json()["version"] == 1

    edited = await api.put(f"{base}/draft", json=guide_of(body) | {"promised_days": 3}, headers=admin)
    assert edited.status_code == 200 and edited.json()["draft"]["version"] == 2
    assert edited.json()["status"] == "published"  # v1 stays live while v2 is drafted
    assert (await api.put(f"{base}/draft", json=guide_of(body), headers=other)).status_code == 403

    withdrawn = await api.post(f"{base}/withdraw", headers=admin)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert await _all(api, q=body["name"]) == []
    assert code not in {m["code"] for m in await _all(api, life_event="elderly_care")}
    assert (await api.get(f"/api/v1/matters/{code}")).status_code == 404
    assert (await api.get(f"/api/v1/matters/{code}/versions/1")).status_code == 200  # cases still cite it
    again = await api.post(f"{base}/withdraw", headers=admin)
    assert again.status_code == 409 and again.json()["errcode"] == "MATTER_STATE_CONFLICT"


async def test_bad_input_is_a_422_naming_every_field(api: httpx.AsyncClient, callers: dict[str, Caller]) -> None:
    body = new_matter(department_code="11430182000000000X", region_code="430199", statutory_days=0,
                      fee={"free": False, "amount_fen": 12.5, "basis": "某收费文件"},
                      form_schema={"type": "object", "properties": {"name": {"type": "strin", "title": "姓名"}}})
    body["materials"][0]["ecert_type"] = "unicorn_certificate"
    response = await api.post("/api/v1/admin/matters", json=body, headers=callers["civil_admin"].headers)
    assert response.status_code == 422 and response.json()["errcode"] == "VALIDATION_FAILED"
    fields = {e["field"]: e["errcode"] for e in response.json()["errors"]}
    assert fields["department_code"] == "DEPARTMENT_UNKNOWN" and fields["region_code"] == "REGION_UNKNOWN"
    assert {"statutory_days", "fee.amount_fen", "form_schema", "materials.0.ecert_type"} <= set(fields)
    negative = await api.post("/api/v1/admin/matters", json=new_matter(promised_days=-2),
                              headers=callers["civil_admin"].headers)
    assert [e["field"] for e in negative.json()["errors"]] == ["promised_days"]
