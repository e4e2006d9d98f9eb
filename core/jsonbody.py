"""Parsing of untrusted JSON request bodies with a depth limit.

Size is enforced while the body streams in (see `mobile_api.base`); depth is checked here, because deeply
nested input is both a denial-of-service vector and a way to crash the parser with RecursionError.
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import INVALID_JSON, JSON_TOO_DEEP, AppError


def parse_json(raw: bytes, *, max_depth: int) -> Any:
    if not raw.strip():
        raise AppError(INVALID_JSON, "请求内容为空")
    _check_depth(raw, max_depth)
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise AppError(INVALID_JSON, "请求内容须为 UTF-8 编码的 JSON") from None
    except (ValueError, RecursionError) as exc:
        raise AppError(INVALID_JSON, f"请求内容不是有效的 JSON：{_where(exc)}") from None


def _check_depth(raw: bytes, max_depth: int) -> None:
    """Count bracket nesting outside strings before parsing: linear, no recursion, no allocation."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                raise AppError(JSON_TOO_DEEP, f"请求内容嵌套层级超过 {max_depth} 层")
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1


def _where(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"第 {exc.lineno} 行第 {exc.colno} 列附近有误"
    return "格式有误"
