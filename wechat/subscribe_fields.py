"""Field rules of subscribe messages (and category template messages): what each kind of value may hold, and
fitting a value to its rule honestly.

WeChat names a template's fields by kind and number (`thing1`, `phrase3`, `character_string12`) and refuses the
whole message (47003) when one value breaks its kind's rule, so values are fitted before sending. Only free text
is shortened: `thing` and `character_string` are cut and end in an ellipsis, so the reader can see the cut. Where a
cut would change the meaning (a number, an amount, a time, a name, a status phrase) `fit` raises FieldValueError
instead of sending something false; so it does for a value no cut can make valid (Latin letters in a phrase).

Rules, as WeChat documents them (our reading where the text is vague is noted): thing ≤ 20 characters of any
kind; number ≤ 32 digits, may have decimals; letter ≤ 32 letters; symbol ≤ 5 symbols; character_string ≤ 32
digits, letters or symbols (ASCII, no space: our reading); time and date: `15:01`, `2019年10月1日 15:01`,
`2019-10-01`, … or a range `a~b`; amount: one currency sign + ≤ 10 digits, may have decimals, may end in 元;
phone_number ≤ 17 digits/symbols; car_number ≤ 8, first and last may be Chinese, the rest letters and digits;
name ≤ 10 Chinese characters (mixed with letters counts as Chinese; `·` and the mask `*` allowed: our reading)
or ≤ 20 letters/symbols; phrase ≤ 5 Chinese characters only. No value may be empty or hold control characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
KINDS: tuple[str, ...] = (
    "thing", "number", "letter", "symbol", "character_string", "time", "date", "amount", "phone_number",
    "car_number", "name", "phrase",
)
LIMITS: dict[str, int] = {  # characters (digits for amount)
    "thing": 20, "number": 32, "letter": 32, "symbol": 5, "character_string": 32, "amount": 10,
    "phone_number": 17, "car_number": 8, "phrase": 5,
}
ELLIPSIS = {"thing": "…", "character_string": "..."}  # what ends a shortened value of a kind that may be cut

_KEY_RE = re.compile(r"(" + "|".join(sorted(KINDS, key=len, reverse=True)) + r")([0-9]*)")
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ASCII_SYMBOLS = r"!-/:-@\[-`{-~"  # every printable ASCII character that is neither a letter, a digit nor space
_DATE = r"[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}"
_CLOCK = r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
_TIME_POINT = rf"(?:(?:{_DATE}) ?)?{_CLOCK}"
_DATE_POINT = rf"(?:{_DATE})(?: ?{_CLOCK})?"
_PATTERNS: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"[0-9]+(?:\.[0-9]+)?"),
    "letter": re.compile(r"[A-Za-z]+"),
    "symbol": re.compile(rf"[{_ASCII_SYMBOLS}\u3000-\u303f\uff01-\uff0f\uff1a-\uff20…—·]+"),
    "character_string": re.compile(rf"[A-Za-z0-9{_ASCII_SYMBOLS}]+"),
    "time": re.compile(rf"{_TIME_POINT}(?: ?~ ?{_TIME_POINT})?"),
    "date": re.compile(rf"{_DATE_POINT}(?: ?~ ?{_DATE_POINT})?"),
    "amount": re.compile(r"[¥￥$€£][0-9]+(?:\.[0-9]+)?元?"),
    "phone_number": re.compile(r"[0-9+\-*() ]+"),
    "car_number": re.compile(rf"[{_HAN}A-Za-z0-9][A-Za-z0-9]*[{_HAN}A-Za-z0-9]"),
    "phrase": re.compile(rf"[{_HAN}]+"),
}
_HAN_RE = re.compile(rf"[{_HAN}]")
_CHINESE_NAME = re.compile(rf"[{_HAN}A-Za-z·•*]+")
_LATIN_NAME = re.compile(rf"[A-Za-z {_ASCII_SYMBOLS}]+")
_WHITESPACE_CONTROLS = re.compile(r"[ \t]*[\t\n\r\v\f][\s]*")
_POINT_RE = re.compile(rf"({_DATE})? ?({_CLOCK})?")


class FieldValueError(ValueError):
    """One or more values can never be made valid (or the key names no kind). `problems`: key → reason."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{key}: {reason}" for key, reason in self.problems.items()))


def kind_of(kind_or_key: str) -> str:
    """`thing12` → `thing`, `character_string3` → `character_string`; a bare kind is its own kind."""
    match = _KEY_RE.fullmatch(kind_or_key)
    if match is None:
        raise FieldValueError({kind_or_key: f"unknown field kind (expected one of {', '.join(KINDS)} + number)"})
    return match[1]


def violation(kind_or_key: str, value: str) -> str | None:
    """Why `value` is not valid for the kind as it stands (None when WeChat would accept it). Changes nothing."""
    kind = kind_of(kind_or_key)
    if not value or not value.strip():
        return "empty"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "control characters are not allowed"
    if kind == "name":
        return _name_violation(value)
    limit = LIMITS.get(kind)
    pattern = _PATTERNS.get(kind)
    if pattern is not None and not pattern.fullmatch(value):
        return _EXPLAIN[kind]
    if kind in ("time", "date"):
        return _calendar_violation(value)
    if limit is not None:
        counted = sum(ch.isdigit() for ch in value) if kind in ("amount", "number") else len(value)
        if counted > limit:
            unit = "digits" if kind in ("amount", "number") else "characters"
            return f"at most {limit} {unit}, got {counted}"
    return None


def fit(kind_or_key: str, value: str | int | Decimal | date) -> str:
    """`value` made valid for its kind, or FieldValueError when no honest change can make it valid.

    A run of whitespace holding a line break or tab becomes one space and the ends are trimmed; an aware
    `datetime` (or a `date`) is written in Asia/Shanghai for time/date kinds; an int or Decimal is written out.
    Free text that is too long is cut and ends in `…` (thing) or `...` (character_string).
    """
    kind = kind_of(kind_or_key)
    text = _as_text(kind_or_key, kind, value)
    text = _WHITESPACE_CONTROLS.sub(" ", text).strip()
    problem = violation(kind, text)
    if problem is not None and kind in ELLIPSIS and len(text) > LIMITS[kind]:
        marker = ELLIPSIS[kind]
        shortened = text[: LIMITS[kind] - len(marker)].rstrip() + marker
        if violation(kind, shortened) is None:
            return shortened
    if problem is not None:
        raise FieldValueError({kind_or_key: problem})
    return text


def fit_data(data: Mapping[str, str | int | Decimal | date]) -> dict[str, str]:
    """Every value of a template's data fitted to its key's kind; FieldValueError lists every bad key at once."""
    fitted: dict[str, str] = {}
    problems: dict[str, str] = {}
    for key, value in data.items():
        try:
            fitted[key] = fit(key, value)
        except FieldValueError as exc:
            problems.update(exc.problems)
    if problems:
        raise FieldValueError(problems)
    return fitted


def amount_from_fen(fen: int, *, sign: str = "¥") -> str:
    """Integer fen as an amount value: 123456 → `¥1234.56` (money stays integer fen everywhere else)."""
    if fen < 0:
        raise FieldValueError({"amount": "an amount cannot be negative"})
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _as_text(key: str, kind: str, value: str | int | Decimal | date) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise FieldValueError({key: "a boolean is not a field value"})
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise FieldValueError({key: "a datetime must be timezone-aware"})
        if kind not in ("time", "date"):
            raise FieldValueError({key: f"a datetime is not a {kind} value"})
        local = value.astimezone(SHANGHAI)
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    if isinstance(value, date):
        if kind != "date":
            raise FieldValueError({key: f"a date is not a {kind} value (use a datetime for time)"})
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, int | Decimal) and kind in ("number", "character_string", "thing"):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    raise FieldValueError({key: f"a {type(value).__name__} is not a {kind} value"})


def _name_violation(value: str) -> str | None:
    if _HAN_RE.search(value):
        if not _CHINESE_NAME.fullmatch(value):
            return "a Chinese name holds Chinese characters, letters, · or * only"
        return None if len(value) <= 10 else f"a Chinese name has at most 10 characters, got {len(value)}"
    if not _LATIN_NAME.fullmatch(value):
        return "a name holds Chinese characters, or letters and symbols"
    return None if len(value) <= 20 else f"a name in letters has at most 20 characters, got {len(value)}"


def _calendar_violation(value: str) -> str | None:
    """The pattern matched; check each point is a real date and a 24-hour clock time."""
    for point in re.split(r" ?~ ?", value):
        match = _POINT_RE.fullmatch(point)
        if match is None:  # pragma: no cover - the kind's pattern already matched
            return "not a time or date"
        day, clock = match[1], match[2]
        if day:
            year, month, dom = (int(n) for n in re.findall(r"[0-9]+", day))
            try:
                date(year, month, dom)
            except ValueError:
                return f"{day} is not a calendar date"
        if clock:
            hour, minute, *second = (int(n) for n in clock.split(":"))
            if hour > 23 or minute > 59 or (second and second[0] > 59):
                return f"{clock} is not a 24-hour clock time"
    return None


_EXPLAIN = {
    "number": "digits only, with an optional decimal part",
    "letter": "letters A-Z a-z only",
    "symbol": "symbols only",
    "character_string": "digits, letters and ASCII symbols only (no Chinese, no spaces)",
    "time": "a 24-hour time such as 15:01 or 2019年10月1日 15:01 (or a range a~b)",
    "date": "a date such as 2019年10月1日 or 2019-10-01, optionally with a time (or a range a~b)",
    "amount": "one currency sign and digits, optionally with decimals and a final 元 (e.g. ¥12.50)",
    "phone_number": "digits and + - * ( ) only",
    "car_number": "a plate: first and last may be Chinese, the rest letters and digits",
    "phrase": "Chinese characters only (at most 5)",
}
