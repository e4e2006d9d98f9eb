import pytest

from core.masking import find_unmasked, mask_id_number, mask_phone, mask_text, mask_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证 11010119900307777X 已绑定", "身份证 110101********777X 已绑定"),
        ("id=110101199003077777&x=1", "id=110101********7777&x=1"),
        ("旧证 110101900307123", "旧证 110101*****7123"),
        ("手机 13812345678，", "手机 138****5678，"),
        ("+8613812345678", "+86138****5678"),
        ("order 202611250000000123456789", "order 202611250000000123456789"),  # not an ID: too long
        ("ts 1764000000123", "ts 1764000000123"),  # a millisecond timestamp is not a phone
        ("call 12345678901", "call 12345678901"),  # 12x is not a mobile prefix
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_helpers() -> None:
    assert mask_id_number("320402199001011234") == "320402********1234"
    assert mask_phone("13812345678") == "138****5678"


def test_mask_value_walks_nested_structures() -> None:
    value = {"a": ["13812345678", {"b": ("110101199003077777",)}], "n": 13812345678}
    assert mask_value(value) == {"a": ["138****5678", {"b": ("110101********7777",)}], "n": 13812345678}


def test_find_unmasked_sees_clear_numbers_only() -> None:
    text = "a 110101199003077777 b 13812345678 c 110101********7777 d 138****5678"
    assert find_unmasked(text) == ["110101199003077777", "13812345678"]


def test_find_unmasked_ignores_digits_inside_tokens() -> None:
    assert find_unmasked("index=a18510963363f0 token=Zx13812345678Q") == []
    assert find_unmasked('{"phone": "+8613812345678", "note": "电话13912345678"}') == ["+8613812345678", "13912345678"]
