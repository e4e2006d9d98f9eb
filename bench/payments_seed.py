"""Seeding of the payment benchmarks (bench/payments.py): a school, its fee item through the real two-department
review, thousands of pupils with a linked parent each, their bills, and (for `callbacks`) their orders.

Written in bulk through the repositories, each document shaped by the code that writes it in production: the
school, the fee item and the bills through their services (`Schools.create`, `FeeItems` review and publish,
`BillGenerator`); pupils as the roster import makes them (`protect_id`, `protect_phone`) with the link
`StudentRepository.add_guardian` pushes; parents as a mini-program login makes them (`upsert_wechat`), with a
login session (`LoginSessions.start`) and an access token from the real token service; orders by `new_order`,
moved to `paying` with a prepay id as `PaymentOrders` does after the provider answered.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from accounts.citizen_id import make_citizen_id
from accounts.people import Level
from accounts.roles import Role
from accounts.scopes import Actor
from affairs.demo_kit import DEPT
from affairs.departments import make_uscc
from config.pii import pii_from_settings
from config.wiring import Dependencies
from core.clock import bson_time
from core.ids import new_id
from devstack.fee_setup import publish_with_bills
from payments.fee_item_model import FeeItemIn
from payments.orders import Channel, OrderRepository, OrderState, new_order
from payments.schools import SchoolIn
from payments.students import name_key, protect_id, protect_phone

REGION = "430182"  # 宁乡市
EDU_ADMIN = Actor(roles=frozenset({"dept_admin"}), staff_id="bench-edu-admin", department_id=DEPT["nx_edu"],
                  region_code=REGION)
EDU_REVIEWER = Actor(roles=frozenset({"staff"}), staff_id="bench-edu-staff", department_id=DEPT["nx_edu"],
                     region_code=REGION)
PRICE_REVIEWER = Actor(roles=frozenset({"staff"}), staff_id="bench-price-staff", department_id=DEPT["nx_ndrc"],
                       region_code=REGION)
CLASSES = 40
BATCH = 500


@dataclass
class Family:
    person_id: str
    openid: str
    student_id: str
    bill_id: str
    token: str = ""


@dataclass
class SeededSchool:
    school_id: str
    item_id: str
    amount_fen: int
    families: list[Family]


async def _in_batches(coroutines: list[Any], size: int = 200) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(coroutines), size):
        out += await asyncio.gather(*coroutines[start:start + size])
    return out


async def seed_school(deps: Dependencies, pupils: int, *, amount_fen: int = 120_000,
                      sessions: bool = False) -> SeededSchool:
    """A school of `pupils` pupils in 三年级, each with one parent linked; one published fee item and its bills.
    `sessions`: every parent also signs in (a login session and an access token)."""
    fees, settings = deps.school_fees, deps.settings
    code = make_uscc(REGION, f"{secrets.randbelow(10**8):08d}", org_type="2")
    await fees.schools.create(EDU_ADMIN, SchoolIn(code=code, name=f"宁乡市压测小学{code[-4:]}", region_code=REGION,
                                                  price_department_code=DEPT["nx_ndrc"]))
    finance = Actor(roles=frozenset({"school_finance"}), staff_id=f"bench-fin-{code[-6:]}", department_id=code,
                    region_code=REGION)
    # Parents first (a mini-program login each), so the pupils can be written already linked.
    openids = [f"obench{secrets.token_hex(6)}{n:05d}" for n in range(pupils)]
    now = bson_time()
    people = [{"_id": new_id(), "level": Level.L0.value, "roles": [Role.RESIDENT.value, Role.PARENT.value],
               "created_at": now, "wechat": {"mp_openid": openid}, "last_login_at": now} for openid in openids]
    for start in range(0, len(people), BATCH):  # as `upsert_wechat` makes them, plus the role a link adds
        await deps.people.collection.insert_many(people[start:start + BATCH], ordered=False)
    person_ids = [person["_id"] for person in people]
    class_ids = await fees.classes.ensure(code, (("三年级", f"{n + 1}班") for n in range(CLASSES)))
    cipher, index = pii_from_settings(settings)
    students = []
    for n, person_id in enumerate(person_ids):
        class_name = f"{n % CLASSES + 1}班"
        name = "陈" + "思远晓雨子涵浩然"[n % 8] + "一二三四五六七八九十"[n // 8 % 10]
        born = date(2014, 1, 1) + timedelta(days=n % 1800)
        number = make_citizen_id(REGION, born, 100 + n // 1800 + secrets.randbelow(50) * 10)
        phone = f"+86138{secrets.randbelow(10**8):08d}"
        link = {"person_id": person_id, "link_id": new_id(), "via": "code", "linked_at": now}
        students.append({
            "_id": new_id(), "school_id": code, "student_no": f"S{n:05d}", "name": name, "name_key": name_key(name),
            "grade": "三年级", "class_id": class_ids[("三年级", class_name)], "class_name": class_name,
            "id_number": protect_id(number, cipher, index), "guardian_phones": [protect_phone(phone, cipher, index)],
            "guardian_person_ids": [person_id], "guardians": [link], "version": 1, "created_at": now,
            "updated_at": now, "import_job": "bench", "last_import_job": "bench"})
    for start in range(0, len(students), BATCH):
        await deps.db["students"].insert_many(students[start:start + BATCH], ordered=False)
    item = await publish_with_bills(deps, finance, code, FeeItemIn(
        name="2026年秋季学期学生作业本费", amount_fen=amount_fen, term="2026-autumn", grades=["三年级"],
        basis="宁发改价〔2026〕12号 关于中小学服务性收费标准的通知"), reviewers=(EDU_REVIEWER, PRICE_REVIEWER))
    bill_of = {doc["student_id"]: doc["_id"] async for doc in deps.db["bills"].find(
        {"fee_item_id": item["_id"]}, {"student_id": 1})}
    families = [Family(p, o, s["_id"], bill_of[s["_id"]]) for p, o, s in zip(person_ids, openids, students,
                                                                                strict=True)]
    if sessions:
        grants = await _in_batches([deps.sessions.start(f.person_id, device="bench phone", ip=None)
                                    for f in families])
        roles = [Role.RESIDENT.value, Role.PARENT.value]
        for family, grant in zip(families, grants, strict=True):
            family.token = deps.identity.tokens.issue_access_token(family.person_id, roles, grant.session_id)
    return SeededSchool(code, item["_id"], amount_fen, families)


async def seed_paying_orders(deps: Dependencies, school: SeededSchool) -> list[dict[str, Any]]:
    """One WeChat Pay order per bill, `paying` as after a prepay the provider answered (attempt 1)."""
    settings, orders = deps.settings, OrderRepository(deps.db)
    ttl = timedelta(minutes=settings.payment_order_ttl_min)
    docs = []
    bills = {doc["_id"]: doc async for doc in deps.db["bills"].find({"fee_item_id": school.item_id})}
    for family in school.families:
        order = new_order(order_id=new_id(), bill=bills[family.bill_id], person_id=family.person_id,
                          channel=Channel.WECHATPAY, mode="jsapi", appid=settings.wechatpay_appid, attempt=1,
                          now=bson_time(), ttl=ttl)
        order.update(state=OrderState.PAYING.value, version=1,
                     provider={"prepay_id": "wx" + secrets.token_hex(16)}, updated_at=bson_time())
        docs.append(order)
    for start in range(0, len(docs), BATCH):
        await orders.collection.insert_many(docs[start:start + BATCH], ordered=False)
    return docs
