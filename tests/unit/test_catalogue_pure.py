"""Pure pieces of the catalogue: search terms (Chinese, pinyin, initials), cursors, region placement, the
guide cache, ETag matching, and the demo data's shape."""

from __future__ import annotations

import asyncio

import pytest

from accounts.regions import RegionCodeInvalid
from affairs.demo_catalogue import DEMO_MATTERS
from affairs.demo_kit import DEPARTMENTS, REGIONS
from affairs.guide_cache import GuideCache, SingleFlight
from affairs.regions import Region, check_placement, lineage
from affairs.search_terms import extract_terms, query_terms, sort_key
from core.cursors import CursorInvalid, decode_cursor, encode_cursor
from mobile_api.handlers.catalogue import etag_matches

# -- search terms ------------------------------------------------------------------------------------------


def test_name_terms_cover_words_bigrams_pinyin_and_initials() -> None:
    terms = extract_terms("出生医学证明", ["出生证"])
    name = set(terms.name_terms)
    assert {"出生", "医学", "证明", "学证", "出生医学证明"} <= name
    assert {"csyxzm", "chushengyixuezhengming", "chusheng", "cs", "csyx", "yx", "zm"} <= name
    assert set(query_terms("医学证明")) <= name and set(query_terms("出生")) <= name
    assert "出生证" in terms.terms and "出生证" not in name  # keywords match, but rank below the name


def test_jieba_words_give_pinyin_word_boundaries() -> None:
    terms = set(extract_terms("企业设立登记（营业执照）", []).terms)
    assert {"营业执照", "yingyezhizhao", "yyzz", "qysldj", "qysldjyyzz"} <= terms
    assert set(query_terms("营业执照")) <= terms


def test_queries_are_normalised_and_bounded() -> None:
    assert query_terms("ＣＳＹＸＺＭ") == ["csyxzm"]  # full-width letters typed with a Chinese IME
    assert query_terms("出生 证明") == ["出生", "证明"]
    assert query_terms("证") == ["证"]
    assert query_terms("！！？") == []
    assert query_terms("出生出生") == ["出生", "生出"]  # repeated bigrams once
    assert len(query_terms("".join(chr(0x4E00 + i) for i in range(40)))) == 12


def test_lists_sort_by_pinyin() -> None:
    names = ["出生医学证明首次签发", "不动产抵押登记", "高龄津贴申请", "内地居民结婚登记"]
    assert sorted(names, key=sort_key) == ["不动产抵押登记", "出生医学证明首次签发", "高龄津贴申请", "内地居民结婚登记"]


# -- cursors -----------------------------------------------------------------------------------------------
FILTERS = {"filters": {"published.life_events": "birth"}, "terms": []}


def test_cursor_round_trip_is_opaque_and_url_safe() -> None:
    cursor = encode_cursor([1, "chu sheng yi xue", "430182-WJ-0001"], FILTERS)
    assert "出" not in cursor and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor, FILTERS, size=3) == [1, "chu sheng yi xue", "430182-WJ-0001"]


@pytest.mark.parametrize("cursor", ["", "not-base64!!", "bnVsbA", "W10", "x" * 600])
def test_garbage_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(CursorInvalid):
        decode_cursor(cursor, FILTERS, size=3)


def test_a_cursor_belongs_to_its_filters_and_shape() -> None:
    cursor = encode_cursor([0, "a", "b"], FILTERS)
    with pytest.raises(CursorInvalid):
        decode_cursor(cursor, {"filters": {}, "terms": []}, size=3)
    with pytest.raises(CursorInvalid):
        decode_cursor(cursor, FILTERS, size=2)
    with pytest.raises(CursorInvalid):
        decode_cursor(encode_cursor([True, {"$gt": ""}, "b"], FILTERS), FILTERS, size=3)


# -- regions -----------------------------------------------------------------------------------------------
CITY = Region(code="430100", name="长沙市", level="city", parent_code=None)
COUNTY = Region(code="430182", name="宁乡市", level="district", parent_code="430100", ancestors=("430100",))


def test_region_placement() -> None:
    assert check_placement("430100", None) == "city"
    assert check_placement("430182", CITY) == "district"
    assert check_placement("430182102", COUNTY) == "town"
    with pytest.raises(RegionCodeInvalid):
        check_placement("430182102", CITY)  # skips the county level
    with pytest.raises(RegionCodeInvalid):
        check_placement("430104005", COUNTY)  # another county's town
    with pytest.raises(RegionCodeInvalid):
        check_placement("430182", None)  # a county cannot be a root


def test_lineage_is_the_region_and_everything_above_it() -> None:
    village = Region(code="430182102201", name="炭子冲村", level="village", parent_code="430182102",
                     ancestors=("430100", "430182", "430182102"))
    assert lineage(village) == ("430100", "430182", "430182102", "430182102201")
    assert lineage(CITY) == ("430100",)


def test_demo_data_shape() -> None:
    assert len(DEMO_MATTERS) >= 30 and len({m["code"] for m in DEMO_MATTERS}) == len(DEMO_MATTERS)
    kinds = {d.kind.value for d in DEPARTMENTS}
    assert {"公安", "人社", "医保", "公积金", "不动产", "教育", "民政", "卫健", "市场监管", "税务", "发改"} <= kinds
    names = " ".join(m["name"] for m in DEMO_MATTERS)
    for wanted in ("出生医学证明", "出生登记", "新生儿参保", "义务教育入学登记", "企业设立登记（营业执照）",
                   "高龄津贴", "住房公积金提取", "不动产"):
        assert wanted in names
    assert [len(code) for code, *_ in REGIONS].count(12) == 4


# -- guide cache and ETags ---------------------------------------------------------------------------------


def test_guide_cache_expires_evicts_and_ignores_fills_older_than_an_invalidation() -> None:
    now = [100.0]
    cache = GuideCache(ttl_s=10, max_entries=2, clock=lambda: now[0])
    cache.put("a", '"1"', b"a", generation=cache.generation("a"))
    assert cache.get("a") is not None
    now[0] += 10
    assert cache.get("a") is None  # expired
    started = cache.generation("b")
    cache.invalidate("b")  # a publish lands while the old version is being read
    cache.put("b", '"old"', b"old", generation=started)
    assert cache.get("b") is None
    for key in ("c", "d", "e"):
        cache.put(key, '"x"', b"x", generation=cache.generation(key))
    assert cache.get("c") is None and len(cache) == 2  # least recently used evicted


def test_page_cache_is_emptied_by_any_change_and_drops_fills_started_before() -> None:
    cache = GuideCache(ttl_s=10)
    cache.put("q=出生", "", b"page", generation=cache.generation("q=出生"))
    started = cache.generation("q=户口")
    cache.invalidate_all()  # a matter was published: every page may have changed
    assert cache.get("q=出生") is None
    cache.put("q=户口", "", b"stale", generation=started)
    assert cache.get("q=户口") is None


def test_etag_matching_follows_if_none_match() -> None:
    etag = '"v2-abc"'
    assert etag_matches('"v2-abc"', etag)
    assert etag_matches('W/"v2-abc"', etag)
    assert etag_matches('"v1-zzz", "v2-abc"', etag)
    assert etag_matches("*", etag)
    assert not etag_matches('"v1-zzz"', etag)
    assert not etag_matches(None, etag)


async def test_single_flight_shares_one_load_among_concurrent_misses() -> None:
    flight, calls = SingleFlight(), []

    async def load() -> str:
        calls.append(1)
        await asyncio.sleep(0.01)
        return "page"

    results = await asyncio.gather(*(flight.run("q", load) for _ in range(20)))
    assert results == ["page"] * 20 and len(calls) == 1
    assert await flight.run("q", load) == "page" and len(calls) == 2  # done: the next miss loads again
