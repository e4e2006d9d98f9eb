"""Money is integer fen (分) end to end; these are its only conversions to and from text.

`fen_to_yuan` / `yuan_to_fen` are the providers' decimal strings (`"88.88"`: Alipay amounts, bill files, xlsx
exports); exact, never through float. `yuan(fen)` is the figure a receipt prints (¥1,200.50) and `capitals(fen)` the amount in Chinese financial
capitals (壹仟贰佰元伍角整) that receipts must carry beside it, following the usual rules of 人民币大写: 零
once for any run of zeros between non-zero digits, 拾 always with its digit (壹拾), 整 when there are no fen.
"""

from __future__ import annotations

import re

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL = ((1000, "仟"), (100, "佰"), (10, "拾"), (1, ""))
_GROUPS = ("", "万", "亿", "万亿")
MAX_FEN = 10**16 - 1  # below 1 万亿亿: far beyond any fee, and the groups above cover it


_YUAN = re.compile(r"(-?)(\d+)(?:\.(\d{1,2}))?")


def fen_to_yuan(fen: int) -> str:
    """`8888` → `"88.88"`, `-45` → `"-0.45"` (refund lines in bill files are negative)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("amounts are integer fen")
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole}.{cents:02d}"


def yuan_to_fen(text: str) -> int:
    """`"88.88"` → `8888`; at most two decimals, no exponent, no separators: anything else is a ValueError."""
    match = _YUAN.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not an amount in yuan: {text!r}")
    sign, whole, cents = match.groups()
    fen = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    return -fen if sign else fen


def _check(fen: int) -> None:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("amounts are integer fen")
    if not 0 <= fen <= MAX_FEN:
        raise ValueError(f"amount out of range: {fen}")


def yuan(fen: int) -> str:
    """`120050` → `¥1,200.50`."""
    _check(fen)
    whole, cents = divmod(fen, 100)
    return f"¥{whole:,}.{cents:02d}"


def _group(value: int) -> str:
    """A 4-digit group without its leading zeros (the caller decides whether a 零 goes before it)."""
    text, zero = "", False
    for place, unit in _SMALL:
        digit = value // place % 10
        if digit == 0:
            zero = zero or bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += DIGITS[digit] + unit
    return text


def _integer(value: int) -> str:
    groups = []
    while value:
        value, group = divmod(value, 10000)
        groups.append(group)
    text, gap = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            gap = gap or bool(text)
            continue
        if text and (gap or group < 1000):
            text += "零"
        gap = False
        text += _group(group) + _GROUPS[index]
    return text


def capitals(fen: int) -> str:
    """`10000` → `壹佰元整`; `1005` → `壹拾元零伍分`; `50` → `伍角整`; `0` → `零元整`."""
    _check(fen)
    whole, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    if not whole and not rest:
        return "零元整"
    text = _integer(whole) + "元" if whole else ""
    if jiao:
        text += DIGITS[jiao] + "角"
    elif cents and whole:
        text += "零"
    return text + (DIGITS[cents] + "分" if cents else "整")
