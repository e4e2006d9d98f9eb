"""Region codes: trimming by whole groups, levels, and subtree containment (the basis of every staff scope)."""

from __future__ import annotations

import pytest

from accounts.regions import (
    RegionCodeInvalid,
    RegionLevel,
    containing_prefixes,
    is_region_code,
    region_contains,
    region_level,
    region_prefix,
)

CHANGSHA = "430100"  # 长沙市
NINGXIANG = "430124"  # 宁乡县 (code before 2017)
TOWN = "430124101"  # a town of 宁乡
VILLAGE = "430124101201"  # a village of that town


@pytest.mark.parametrize(
    ("code", "prefix", "level"),
    [
        ("430000", "43", RegionLevel.PROVINCE),
        (CHANGSHA, "4301", RegionLevel.CITY),
        (NINGXIANG, "430124", RegionLevel.DISTRICT),
        ("430120", "430120", RegionLevel.DISTRICT),  # a county whose own group ends in 0 is not trimmed
        (TOWN, "430124101", RegionLevel.TOWN),
        ("430124100", "430124100", RegionLevel.TOWN),  # a town group ending in 0 stays a town
        (VILLAGE, VILLAGE, RegionLevel.VILLAGE),
        ("430124101000", "430124101", RegionLevel.TOWN),  # 12-digit form of the town
        ("430124000000", "430124", RegionLevel.DISTRICT),  # 12-digit form of the county
        ("430100000000", "4301", RegionLevel.CITY),
        ("110101", "110101", RegionLevel.DISTRICT),  # 东城区
        ("110100", "1101", RegionLevel.CITY),  # 北京市市辖区
    ],
)
def test_prefix_and_level(code: str, prefix: str, level: RegionLevel) -> None:
    assert region_prefix(code) == prefix
    assert region_level(code) is level


@pytest.mark.parametrize(
    ("ancestor", "descendant", "contains"),
    [
        (CHANGSHA, NINGXIANG, True),
        (NINGXIANG, TOWN, True),
        (TOWN, VILLAGE, True),
        (CHANGSHA, VILLAGE, True),  # transitively
        (NINGXIANG, VILLAGE, True),
        ("430000", VILLAGE, True),  # the province contains everything in it
        (NINGXIANG, NINGXIANG, True),  # a region contains itself
        (NINGXIANG, "430124000000", True),  # the same county written with 12 digits
        ("430124000000", TOWN, True),
        (NINGXIANG, CHANGSHA, False),  # never upwards
        (VILLAGE, TOWN, False),
        (TOWN, NINGXIANG, False),
        (NINGXIANG, "430102", False),  # 芙蓉区: a sibling county
        ("430120", NINGXIANG, False),  # group-wise, not character-wise: 4301 2|0 is not a prefix of 4301 2|4
        ("430102", "430102101", True),
        (NINGXIANG, "430182", False),  # 宁乡市: the 2017 code is unrelated until the region tree exists
        ("430124102", "430124101201", False),  # a village of another town
        ("430100", "430200", False),  # 株洲市
        ("430100", "431000", False),  # 郴州市: "4310" does not start with "4301"
        ("4301", NINGXIANG, False),  # malformed ancestor: fail closed
        (NINGXIANG, "43012410", False),  # malformed descendant
        (NINGXIANG, "", False),
        ("000000", NINGXIANG, False),
    ],
)
def test_containment(ancestor: str, descendant: str, contains: bool) -> None:
    assert region_contains(ancestor, descendant) is contains


@pytest.mark.parametrize("code", ["", "4301", "43012", "4301241", "4301241011", "43012410120a", "４３０１２４",
                                  "000000", " 430124", "4301241012011"])
def test_invalid_codes(code: str) -> None:
    assert not is_region_code(code)
    with pytest.raises(RegionCodeInvalid) as caught:
        region_prefix(code)
    assert "代码" in str(caught.value)


def test_containing_prefixes_name_every_region_above_a_code() -> None:
    assert containing_prefixes("430182") == ["43", "4301", "430182"]
    assert containing_prefixes("430182001") == ["43", "4301", "430182", "430182001"]
    assert containing_prefixes("430000") == ["43"]
    with pytest.raises(RegionCodeInvalid):
        containing_prefixes("43")
