"""The people of the cases benchmark: residents, staff, the forms they fill, and the ids records get.

Data only (no database): bench/cases_seed.py replays cases for them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from accounts.citizen_id import make_citizen_id
from affairs import case_forms
from affairs.case_history import Who
from affairs.case_states import Actor

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅文斌宇浩然欣怡子轩梓涵俊杰思远雨萱"
PROBLEMS = ("请上传清晰完整的扫描件", "所填信息与证件不一致，请核对后更正", "缺少签字页，请补充",
            "证明已超过有效期，请重新开具", "份额填写有误，请按不动产权证书填写")
OPINIONS = ("材料齐全，符合法定形式，同意受理", "经审查符合条件，同意", "情况属实，同意办理", "审查通过")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    id_number: str
    phone: str | None  # None: a WeChat-only account that never proved a phone


@dataclass(frozen=True)
class StaffMember:
    id: str
    name: str
    department_code: str

    def who(self) -> Who:  # as case_tasks.staff_who builds it from the account
        return Who(Actor.STAFF, id=self.id, role="staff", department_code=self.department_code, name=self.name)


@dataclass
class Batch:
    cases: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    ecerts: list[dict[str, Any]] = field(default_factory=list)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def id_at(at: datetime, rng: random.Random) -> str:
    """A ULID of that instant (what the code's `new_id()` gave when the record was written): 48 bits of
    milliseconds and 80 random bits in Crockford base 32 (python-ulid's constructor is 10 times slower)."""
    value = (int(at.timestamp() * 1000) << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def fake_name(rng: random.Random, given: int) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(given))


def fake_person(n: int, rng: random.Random, now: datetime) -> Person:
    born = now.date() - timedelta(days=rng.randrange(18 * 365, 80 * 365))
    region = "43" + rng.choice(("0182", "0124", "0104", "0102", "0111"))
    name = fake_name(rng, rng.choice((1, 2)))
    return Person(id=id_at(now - timedelta(days=rng.randrange(900)), rng), name=name,
                  id_number=make_citizen_id(region, born, rng.randrange(1000)),
                  phone=f"1{rng.choice('35789')}{rng.randrange(10**9):09d}")


def fill(schema: dict[str, Any], person: Person, rng: random.Random) -> dict[str, Any]:
    """A valid answer to every field of a demo form (the shapes the demo forms use), the applicant's own."""
    phone = person.phone or f"139{rng.randrange(10**8):08d}"  # what is typed in other phone fields
    own = {"applicant_name": person.name, "applicant_id_number": person.id_number}
    if person.phone:  # case_forms.with_identity: the profile's phone only, never a typed one
        own["applicant_phone"] = person.phone

    def value(name: str, spec: dict[str, Any]) -> Any:
        if name in own:
            return own[name]
        if "enum" in spec:
            return rng.choice(spec["enum"])
        kind = spec.get("type")
        if kind == "integer":
            return max(int(spec.get("minimum", 0)), 1) + rng.randrange(3)
        if kind == "number":
            return round(rng.uniform(20, 150), 1)
        if kind == "boolean":
            return True
        if kind == "array":
            return [value(name, spec["items"]) for _ in range(max(int(spec.get("minItems", 1)), 1))]
        if kind == "object":
            return {k: value(k, f) for k, f in spec.get("properties", {}).items()}
        if spec.get("format") == "date":
            return f"{rng.randrange(2015, 2026)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        sensitive = case_forms.is_sensitive(name, spec)
        if sensitive == "id":
            return person.id_number
        if sensitive == "phone":
            return phone
        return ("宁乡市玉潭街道" + rng.choice("一二三四五六七八") + "环路 " + str(rng.randrange(1, 300)) + " 号")[
            : spec.get("maxLength", 50)]
    return {name: value(name, spec) for name, spec in schema["properties"].items()
            if name != "applicant_phone" or name in own}
