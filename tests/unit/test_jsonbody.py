import pytest

from core.errors import AppError
from core.jsonbody import parse_json


def errcode(raw: bytes, depth: int = 32) -> str:
    with pytest.raises(AppError) as caught:
        parse_json(raw, max_depth=depth)
    return caught.value.error.code


def test_parses_valid_json() -> None:
    assert parse_json('{"名字": ["张三", 1]}'.encode(), max_depth=3) == {"名字": ["张三", 1]}


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert parse_json(b'{"s": "[[[[[[[[[["}', max_depth=2) == {"s": "[[[[[[[[[["}
    assert parse_json(b'{"s": "\\"[[["}', max_depth=2) == {"s": '"[[['}
    assert errcode(b"[[[]]]", depth=2) == "JSON_TOO_DEEP"
    assert parse_json(b"[[[]]]", max_depth=3) == [[[]]]


def test_bad_inputs() -> None:
    assert errcode(b"") == "INVALID_JSON"
    assert errcode(b"   ") == "INVALID_JSON"
    assert errcode(b"{bad") == "INVALID_JSON"
    assert errcode(b"\xff\xfe") == "INVALID_JSON"
    assert errcode(b"[" * 100000) == "JSON_TOO_DEEP"
