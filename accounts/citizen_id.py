"""Resident identity numbers (GB 11643-1999, 18 characters) checked rule by rule, so a resident is told exactly
what is wrong: the length/characters, the check digit, the birth date or the region code.

Region codes come from the GB/T 2260 table shipped with python-stdnum (`stdnum/cn/loc.dat`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from stdnum import numdb
from stdnum.cn import ric

from accounts.errors import CITIZEN_ID_INVALID
from core.errors import AppError
from core.masking import mask_id_number
from core.validation import RuleViolation

CitizenIdRule = Literal["FORMAT", "CHECKSUM", "BIRTH_DATE", "REGION"]
Gender = Literal["M", "F"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
EARLIEST_BIRTH_YEAR = 1900
_NUMBER_RE = re.compile(r"\d{17}[\dX]")
# Codes GB 11643 numbers use that the stdnum table lacks: 830000 is on residence permits of Taiwan residents
# (港澳台居民居住证, since 2018; Hong Kong 810000 and Macao 820000 are in the table).
_EXTRA_REGIONS = {"830000": "台湾地区"}


def _is_filler(name: str) -> bool:
    """Rows that add nothing to a place name: "北京市市辖区东城区" reads as "北京市东城区"."""
    return name in {"市辖区", "县"} or "直辖" in name


class CitizenIdInvalid(RuleViolation):
    """Which GB 11643 rule failed (`rule`: FORMAT, CHECKSUM, BIRTH_DATE or REGION) and why, in Chinese."""

    prefix = "CITIZEN_ID"
    default_field = "id_number"
    error = CITIZEN_ID_INVALID
    rule: CitizenIdRule


@dataclass(frozen=True, slots=True, repr=False)
class CitizenId:
    number: str  # normalised: 18 characters, upper-case X
    birth_date: date
    gender: Gender  # from the parity of the 3-digit sequence: odd for men, even for women
    region_code: str
    region_name: str

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)

    def __repr__(self) -> str:  # never the full number, even in a traceback
        return f"CitizenId({self.masked!r}, gender={self.gender!r}, region_code={self.region_code!r})"


def normalise_citizen_id(raw: str) -> str:
    """NFKC (full-width digits typed with a Chinese IME), spaces removed, `x` → `X`; FORMAT error otherwise."""
    number = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    if len(number) != 18:
        raise CitizenIdInvalid("FORMAT", f"身份证号码应为 18 位，当前为 {len(number)} 位")
    if not _NUMBER_RE.fullmatch(number):
        raise CitizenIdInvalid("FORMAT", "身份证号码只能由数字组成，最后一位可以是字母 X")
    return number


def check_digit(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits: 0-9 or X."""
    if not re.fullmatch(r"\d{17}", first17):
        raise ValueError("check_digit needs exactly 17 digits")
    return ric.calc_check_digit(first17 + "0")


def _birth_date(number: str, today: date) -> date:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise CitizenIdInvalid("BIRTH_DATE", "身份证号码中的出生日期不是有效日期") from None
    if born > today:
        raise CitizenIdInvalid("BIRTH_DATE", "身份证号码中的出生日期晚于今天")
    if born.year < EARLIEST_BIRTH_YEAR:
        raise CitizenIdInvalid("BIRTH_DATE", f"身份证号码中的出生日期早于 {EARLIEST_BIRTH_YEAR} 年")
    return born


def _names_by_era(raw: str) -> list[tuple[int | None, int | None, str]]:
    """`"[1983-2019]桥东区,[2020-]襄都区"` → `[(1983, 2019, "桥东区"), (2020, None, "襄都区")]`."""
    eras: list[tuple[int | None, int | None, str]] = []
    for item in raw.split(","):
        match = re.fullmatch(r"\[(\d*)-(\d*)\](.+)", item)
        if match is None:
            eras.append((None, None, item))
        else:
            start, end, name = match.groups()
            eras.append((int(start) if start else None, int(end) if end else None, name))
    return eras


def _county_name(code: str, birth_year: int) -> tuple[str, str] | None:
    """(province, latest county name) for a code, or None when the table does not know it.

    A code must still have existed in the birth year or later (numbers are assigned at or after birth), so a
    code abolished before the birth year is refused. A code created after the birth year is fine: people born
    before 1999 often received their number later. (stdnum's `get_birth_place` refuses those, and stops with
    KeyError on a half-known code such as 119999, hence this small lookup over the same table.)
    """
    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(code):
        info.update(props)
    if "county" not in info:
        return None
    eras = [era for era in _names_by_era(info["county"]) if era[1] is None or era[1] >= birth_year]
    if not eras:
        return None
    return info.get("province", ""), eras[-1][2]  # the name residents know today, e.g. 邱县 not 丘县


def region_name(code: str, birth_year: int) -> str | None:
    """Full place name such as `江苏省常州市天宁区`, or None for an unknown (or already abolished) code."""
    if code in _EXTRA_REGIONS:
        return _EXTRA_REGIONS[code]
    county = _county_name(code, birth_year)
    if county is None:
        return None
    province, name = county
    if code[2:] == "0000":  # a province-level code: its own row holds the (simplified) name
        return name
    parts = [province]
    if code[4:] != "00":
        prefecture = _county_name(code[:4] + "00", birth_year)
        if prefecture is not None and not _is_filler(prefecture[1]):
            parts.append(prefecture[1])
    if name != province and not _is_filler(name):
        parts.append(name)
    return "".join(dict.fromkeys(parts))  # drop repeats such as 北京市 北京市


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


def parse_citizen_id(raw: str, *, today: date | None = None) -> CitizenId:
    """Validate and describe a resident ID number. Rules run in the order FORMAT, CHECKSUM, BIRTH_DATE,
    REGION: a mistyped digit is almost always caught by the check digit, so that is what the resident hears.

    `today` defaults to the current date in Asia/Shanghai (a number born "tomorrow" in UTC+8 is in the future).
    """
    number = normalise_citizen_id(raw)
    if number[17] != check_digit(number[:17]):
        raise CitizenIdInvalid("CHECKSUM", "身份证号码校验位不正确，请核对每一位数字")
    born = _birth_date(number, today or shanghai_today())
    code = number[:6]
    name = region_name(code, born.year)
    if name is None:
        raise CitizenIdInvalid("REGION", "身份证号码前 6 位地区代码不存在")
    gender: Gender = "M" if int(number[16]) % 2 else "F"
    return CitizenId(number=number, birth_date=born, gender=gender, region_code=code, region_name=name)


def citizen_id_app_error(exc: CitizenIdInvalid, field: str = "id_number") -> AppError:
    """The HTTP error for a bad ID number: `CITIZEN_ID_INVALID` (a dedicated errcode, because clients act on it,
    e.g. offer to rescan the card) with the field error `CITIZEN_ID_<RULE>`."""
    return exc.app_error(field)


def make_citizen_id(region: str = "110101", birth: date | str = date(1990, 1, 1), sequence: int = 1) -> str:
    """A number with a correct check digit, for tests and demo data. `birth` may be a `YYYYMMDD` string so that
    tests can build impossible dates (`"19900230"`); the region is not checked (tests need unknown ones).
    Odd `sequence` gives a man, even a woman."""
    birth_text = birth.strftime("%Y%m%d") if isinstance(birth, date) else birth
    if not re.fullmatch(r"\d{6}", region) or not re.fullmatch(r"\d{8}", birth_text):
        raise ValueError("region must be 6 digits and birth a date or 8 digits")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be 0-999")
    first17 = f"{region}{birth_text}{sequence:03d}"
    return first17 + check_digit(first17)
