"""Administrative region codes (GB/T 2260 and the statistics bureau's 12-digit extension) as plain strings.

Staff work inside a region subtree: a 市 officer sees every 区县, 镇街 and 村社区 below their city. The region tree
itself arrives with the regions issue; until then containment is decided from the codes alone, which is what
the codes are designed for. A full code has five groups — province 2, city 2, county 2, town 3, village 3 digits
(`43 01 24 101 201`) — and a code names the level of its last non-zero group. We accept the 6-digit form for
province/city/county (`430000`, `430100`, `430124`), 9 digits for a town (`430124101`) and 12 for a village
(`430124101201`); a 12-digit code with trailing zero groups (`430124000000`) is the county itself.

Containment: drop the trailing all-zero groups of each code (`430100` → `4301`); the ancestor contains the
descendant when the descendant's trimmed code starts with the ancestor's. Trimming is by whole groups, never by
single zeros, so `430120` (a county whose own group is `20`) does not contain `430124`, and a town code ending
in `0` (`430124100`) stays a town. Known limitation until the tree exists: a renamed county (宁乡县 430124 →
宁乡市 430182 in 2017) is two unrelated codes here.
"""

from __future__ import annotations

import re
from enum import StrEnum

_GROUPS = (2, 2, 2, 3, 3)  # province, city, county, town, village
_LENGTHS = (6, 9, 12)
_DIGITS_RE = re.compile(r"[0-9]+")  # ASCII only: \d would accept full-width digits


class RegionLevel(StrEnum):
    PROVINCE = "province"  # 省
    CITY = "city"  # 市 (地级)
    DISTRICT = "district"  # 区 / 县 / 县级市
    TOWN = "town"  # 镇 / 乡 / 街道
    VILLAGE = "village"  # 村 / 社区


_LEVEL_BY_GROUPS = {1: RegionLevel.PROVINCE, 2: RegionLevel.CITY, 3: RegionLevel.DISTRICT, 4: RegionLevel.TOWN,
                    5: RegionLevel.VILLAGE}


class RegionCodeInvalid(ValueError):
    """Not a region code we accept; the message is Chinese and can be shown to an administrator."""


def _groups(code: str) -> list[str]:
    if not isinstance(code, str) or not _DIGITS_RE.fullmatch(code) or len(code) not in _LENGTHS:
        raise RegionCodeInvalid("行政区划代码须为 6 位（省市区县）、9 位（乡镇街道）或 12 位（村社区）数字")
    groups, start = [], 0
    for size in _GROUPS:
        if start >= len(code):
            break
        groups.append(code[start:start + size])
        start += size
    if groups[0] == "00":
        raise RegionCodeInvalid("行政区划代码的省级部分不能为 00")
    return groups


def region_prefix(code: str) -> str:
    """The code without its trailing all-zero groups: `430100` → `4301`, `430124000000` → `430124`.
    Raises RegionCodeInvalid for anything that is not a 6/9/12-digit code."""
    groups = _groups(code)
    while len(groups) > 1 and set(groups[-1]) == {"0"}:
        groups.pop()
    return "".join(groups)


def region_level(code: str) -> RegionLevel:
    """Which level a code names: `430000` province, `430100` city, `430124` district, 9 digits town, …"""
    prefix = region_prefix(code)
    depth, consumed = 0, 0
    for size in _GROUPS:
        if consumed >= len(prefix):
            break
        consumed += size
        depth += 1
    return _LEVEL_BY_GROUPS[depth]


def is_region_code(code: str) -> bool:
    try:
        region_prefix(code)
    except RegionCodeInvalid:
        return False
    return True


def region_contains(ancestor: str, descendant: str) -> bool:
    """True when `descendant` is `ancestor` itself or lies below it. Invalid codes contain nothing and are
    contained by nothing (authorization fails closed on bad data instead of raising)."""
    try:
        return region_prefix(descendant).startswith(region_prefix(ancestor))
    except RegionCodeInvalid:
        return False


def containing_prefixes(code: str) -> list[str]:
    """The prefixes of every region that contains `code` (itself included), widest first: `430182` → `43`,
    `4301`, `430182`. Someone whose region prefix is one of them has `code` in their subtree (one `$in` query).
    Raises RegionCodeInvalid like region_prefix."""
    prefix, ends, end = region_prefix(code), [], 0
    for size in _GROUPS:
        end += size
        if end > len(prefix):
            break
        ends.append(end)
    return [prefix[:n] for n in ends]
