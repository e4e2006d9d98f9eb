"""The demo people: the one list the population-base simulator answers from and that demo seeding will use,
so a demo login, a real-name check and a school-fees bill all talk about the same residents.

Pure data (no Tornado), so seeding can import it without starting anything. ID numbers are generated with a
correct check digit from real GB/T 2260 region codes: most people are from 宁乡 (the seeds' example county);
宁乡县 430124 became 宁乡市 430182 in 2017, so the child born in 2018 carries the new code. Mobile numbers are
in the obviously fake 1380000xxxx range. Mismatch needs no special person: use a real number with another name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from accounts.citizen_id import make_citizen_id, shanghai_today
from core.masking import mask_id_number, mask_phone

Role = Literal["resident", "parent", "staff"]


@dataclass(frozen=True, slots=True, repr=False)
class DemoPerson:
    key: str  # stable handle for tests and seeding, e.g. "chen-zhiqiang"
    name: str
    id_number: str
    phone: str
    birth_date: date
    gender: Literal["M", "F"]
    region_code: str
    role: Role
    guardians: tuple[str, ...] = ()  # keys of the parents of a minor (school fees are paid by a guardian)
    note: str = ""

    @property
    def is_minor(self) -> bool:
        today, born = shanghai_today(), self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day)) < 18

    def __repr__(self) -> str:  # keep full numbers out of tracebacks and test output
        return f"DemoPerson({self.key!r}, {mask_id_number(self.id_number)!r}, {mask_phone(self.phone)!r})"


def _person(key: str, name: str, region: str, birth: date, sequence: int, phone_suffix: str, role: Role,
            guardians: tuple[str, ...] = (), note: str = "") -> DemoPerson:
    """Odd sequence: man, even: woman (GB 11643), so `gender` and the number always agree."""
    return DemoPerson(
        key=key, name=name, id_number=make_citizen_id(region, birth, sequence), phone=f"1380000{phone_suffix}",
        birth_date=birth, gender="M" if sequence % 2 else "F", region_code=region, role=role,
        guardians=guardians, note=note,
    )


NINGXIANG_COUNTY = "430124"  # 宁乡县, codes issued before 2017
NINGXIANG_CITY = "430182"  # 宁乡市, since 2017

DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    _person("liu-jianguo", "刘建国", NINGXIANG_COUNTY, date(1975, 3, 12), 13, "0001", "staff",
            note="宁乡市政务服务中心综合窗口"),
    _person("zhou-min", "周敏", "430102", date(1990, 6, 23), 24, "0002", "staff", note="教育局审批人员"),
    _person("chen-zhiqiang", "陈志强", NINGXIANG_COUNTY, date(1986, 7, 21), 35, "0003", "parent",
            note="陈思远、陈雨桐的父亲"),
    _person("li-xiulan", "李秀兰", NINGXIANG_COUNTY, date(1988, 11, 5), 46, "0004", "parent",
            note="陈思远、陈雨桐的母亲"),
    _person("chen-siyuan", "陈思远", NINGXIANG_COUNTY, date(2015, 9, 1), 57, "0005", "resident",
            guardians=("chen-zhiqiang", "li-xiulan"), note="小学生（儿童手表号码）"),
    _person("chen-yutong", "陈雨桐", NINGXIANG_CITY, date(2018, 4, 16), 68, "0006", "resident",
            guardians=("chen-zhiqiang", "li-xiulan"), note="幼儿园，2018 年出生，宁乡市新代码"),
    _person("wang-fang", "王芳", "430104", date(1992, 2, 29), 82, "0007", "resident", note="闰日出生"),
    _person("ouyang-xiaodong", "欧阳晓东", "430111", date(1963, 10, 1), 91, "0008", "resident", note="复姓"),
    _person("maimaiti-aili", "买买提·艾力", "650102", date(1995, 5, 20), 103, "0009", "resident",
            note="姓名含间隔号"),
)


def by_key(key: str) -> DemoPerson:
    for person in DEMO_PEOPLE:
        if person.key == key:
            return person
    raise KeyError(key)


def children_of(key: str) -> list[DemoPerson]:
    return [person for person in DEMO_PEOPLE if key in person.guardians]
