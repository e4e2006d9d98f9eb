"""The WeChat simulator's own check of subscribe/template field values (what earns 47003).

Written apart from `wechat/subscribe_fields.py` on purpose, and differently (date formats through `strptime`,
lengths by plain counting): two readings of WeChat's rules, so a misreading on either side shows up as a test
failure instead of agreeing with itself.
"""

from __future__ import annotations

import re
from datetime import datetime

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DAY_FORMATS = ("%Y年%m月%d日", "%Y-%m-%d", "%Y/%m/%d")
_CLOCK_FORMATS = ("%H:%M", "%H:%M:%S")
_TIME_FORMATS = _CLOCK_FORMATS + tuple(f"{d}{sep}{c}" for d in _DAY_FORMATS for c in _CLOCK_FORMATS for sep in ("", " "))
_DATE_FORMATS = _DAY_FORMATS + tuple(f for f in _TIME_FORMATS if f not in _CLOCK_FORMATS)


def _parses(text: str, formats: tuple[str, ...]) -> bool:
    for fmt in formats:
        try:
            datetime.strptime(text.strip(), fmt)  # only the shape matters here
            return True
        except ValueError:
            continue
    return False


def _points(value: str, formats: tuple[str, ...]) -> bool:
    parts = value.split("~")
    return len(parts) <= 2 and all(_parses(part, formats) for part in parts)


def _digits(value: str) -> int:
    return sum(ch.isdigit() for ch in value)


def _name_ok(value: str) -> bool:
    if _HAN.search(value):
        return len(value) <= 10 and all(_HAN.match(ch) or ch.isascii() and ch.isalpha() or ch in "·•*" for ch in value)
    return len(value) <= 20 and value.isascii() and not any(ch.isdigit() for ch in value)


def _car_ok(value: str) -> bool:
    if not 2 <= len(value) <= 8:
        return False
    middle = value[1:-1]
    ends_ok = all(_HAN.match(ch) or (ch.isascii() and ch.isalnum()) for ch in (value[0], value[-1]))
    return ends_ok and all(ch.isascii() and ch.isalnum() for ch in middle)


_RULES = {
    "thing": lambda v: len(v) <= 20,
    "number": lambda v: re.fullmatch(r"[0-9]+(\.[0-9]+)?", v) is not None and _digits(v) <= 32,
    "letter": lambda v: len(v) <= 32 and v.isascii() and v.isalpha(),
    "symbol": lambda v: len(v) <= 5 and not any(ch.isalnum() or ch.isspace() for ch in v),
    "character_string": lambda v: len(v) <= 32 and all("!" <= ch <= "~" for ch in v),
    "time": lambda v: _points(v, _TIME_FORMATS),
    "date": lambda v: _points(v, _DATE_FORMATS),
    "amount": lambda v: re.fullmatch(r"[¥￥$€£][0-9]+(\.[0-9]+)?元?", v) is not None and _digits(v) <= 10,
    "phone_number": lambda v: len(v) <= 17 and re.fullmatch(r"[0-9+\-*() ]+", v) is not None,
    "car_number": _car_ok,
    "name": _name_ok,
    "phrase": lambda v: len(v) <= 5 and all(_HAN.match(ch) for ch in v),
}
_KEY = re.compile(r"([a-z_]+?)\d*")


def field_problem(key: str, value: object) -> str | None:
    """WeChat's complaint about one `data.<key>.value` (None when acceptable): the errmsg tail of a 47003."""
    match = _KEY.fullmatch(key)
    rule = _RULES.get(match[1]) if match else None
    if rule is None:
        return "unknown keyword"
    if not isinstance(value, str) or not value.strip():
        return "is empty"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "contains control characters"
    return None if rule(value) else "does not match its rule"
