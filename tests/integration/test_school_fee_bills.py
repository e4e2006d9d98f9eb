"""Bill generation against the real MongoDB (SecantusDB): idempotent however often it runs, and a withdrawal
racing a generation leaves no unpaid bill of the withdrawn item behind.

The services are driven directly (actors built in code, students written as a roster import writes them). The
publishing step's Celery message is recorded instead of sent — a lost task, which the design covers with the
beat sweep — so that the test, not a worker, decides when the generator runs.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from accounts.scopes import Actor
from affairs.demo_kit import DEPT, YUTAN
from config.wiring import Dependencies
from core.clock import bson_time
from core.ids import new_id
from payments.bill_generation import BILLS_TASK, BillGenerator
from payments.fee_item_model import FeeItemIn
from payments.fee_items import FeeItems
from payments.school_fees import bill_generator
from payments.schools import SchoolIn
from payments.students import name_key
from tests.support.schools import new_school_code


@dataclass
class Desk:
    school_id: str
    finance: Actor
    education: Actor
    price: Actor
    items: FeeItems
    queued: list[tuple[str, tuple[Any, ...]]]


async def school_desk(deps: Dependencies) -> Desk:
    education = Actor(roles=frozenset({"dept_admin", "staff"}), staff_id=f"edu-{secrets.token_hex(3)}",
                      department_id=DEPT["nx_edu"], region_code="430182")
    price = Actor(roles=frozenset({"staff"}), staff_id=f"ndrc-{secrets.token_hex(3)}",
                  department_id=DEPT["nx_ndrc"], region_code="430182")
    code = new_school_code()
    await deps.school_fees.schools.create(education, SchoolIn(
        code=code, name="宁乡市测试学校", region_code=YUTAN, price_department_code=DEPT["nx_ndrc"]))
    finance = Actor(roles=frozenset({"school_finance"}), staff_id=f"fin-{secrets.token_hex(3)}",
                    department_id=code, region_code=YUTAN)
    queued: list[tuple[str, tuple[Any, ...]]] = []

    async def lost(name: str, *args: Any, **_: Any) -> str:
        queued.append((name, args))
        return "never-sent"

    return Desk(code, finance, education, price, replace(deps.school_fees.fee_items, publish=lost), queued)


async def enrol(deps: Dependencies, school_id: str, count: int, grade: str = "一年级", klass: str = "1班") -> list[str]:
    """`count` students as a roster import writes them; their ids."""
    [class_id] = (await deps.school_fees.classes.ensure(school_id, [(grade, klass)])).values()
    now, docs = bson_time(), []
    for i in range(count):
        name = f"学生{chr(0x4E00 + i)}"
        docs.append({"_id": new_id(), "school_id": school_id, "student_no": f"{class_id[-6:]}-{i:04d}", "name": name,
                     "name_key": name_key(name), "grade": grade, "class_id": class_id, "class_name": klass,
                     "id_number": {"cipher": "-", "index": secrets.token_hex(16), "masked": "-"},
                     "guardian_phones": [], "guardian_person_ids": [], "guardians": [], "version": 0,
                     "created_at": now, "updated_at": now})
    await deps.school_fees.students.insert_many(docs)
    return [doc["_id"] for doc in docs]


async def published(desk: Desk, grades: list[str]) -> dict[str, Any]:
    items = desk.items
    body = FeeItemIn(name="作业本费", amount_fen=3500, term="2026-autumn", grades=grades,
                     basis="宁发改价费〔2026〕12号")
    item = await items.create(desk.finance, desk.school_id, body)
    item = await items.submit(desk.finance, item["_id"], item["revision"])
    item = await items.review(desk.education, item["_id"], item["revision"], approve=True)
    item = await items.review(desk.price, item["_id"], item["revision"], approve=True)
    item = await items.publish_item(desk.finance, item["_id"], item["revision"])
    assert desk.queued[-1] == (BILLS_TASK, (item["_id"],))
    return item


async def bills_of(deps: Dependencies, item_id: str) -> list[dict[str, Any]]:
    return [b async for b in deps.school_fees.bills.bills.collection.find({"fee_item_id": item_id})]


async def test_generation_is_idempotent(deps: Dependencies, demo_catalogue: object) -> None:
    desk = await school_desk(deps)
    students = await enrol(deps, desk.school_id, 7)
    await enrol(deps, desk.school_id, 2, grade="二年级")  # not billed
    item = await published(desk, ["一年级"])
    generator = replace(bill_generator(deps.mongo, deps.db), batch=3)
    repo = deps.school_fees.fee_items.items

    assert await generator.run(item["_id"]) == "done"
    bills = await bills_of(deps, item["_id"])
    assert sorted(b["student_id"] for b in bills) == sorted(students)
    assert {(b["state"], b["amount_fen"]) for b in bills} == {("unpaid", 3500)}
    assert await generator.run(item["_id"]) is None  # a re-delivered task: nothing to claim

    # asked again (a roster import changed students) → claimed and run, nothing new
    assert await repo.request_bills(item["_id"])
    assert not await repo.request_bills(item["_id"])  # one pending request at a time
    assert await generator.run(item["_id"]) == "done"
    assert len(await bills_of(deps, item["_id"])) == 7

    # two runs at once (two workers got the task): one claims, the other does nothing
    assert await repo.request_bills(item["_id"])
    outcomes = await asyncio.gather(generator.run(item["_id"]), generator.run(item["_id"]))
    assert sorted(outcomes, key=str) == [None, "done"]

    # a worker that died half-way (the lease ran out): the next run fills in exactly what is missing
    await deps.school_fees.bills.bills.collection.delete_many({"fee_item_id": item["_id"],
                                                               "student_id": {"$in": students[:3]}})
    await repo.collection.update_one({"_id": item["_id"]}, {"$set": {"bills.state": "running",
                                                                     "bills.heartbeat_at": bson_time() - timedelta(hours=1)}})
    assert item["_id"] in await repo.stale_requests(timedelta(minutes=2))  # the beat sweep queues it again
    assert await generator.run(item["_id"]) == "done"
    assert sorted(b["student_id"] for b in await bills_of(deps, item["_id"])) == sorted(students)
    stored = await repo.get(item["_id"])
    assert stored["bills"]["generated"] == 10 and stored["bills"]["state"] == "done"  # 7 + the 3 made again


async def test_withdrawal_racing_generation_leaves_no_unpaid_bill(deps: Dependencies, demo_catalogue: object) -> None:
    """Withdraw while the generator is at different points of its run (small batches, each a transaction)."""
    desk = await school_desk(deps)
    await enrol(deps, desk.school_id, 200)
    generator: BillGenerator = replace(bill_generator(deps.mongo, deps.db), batch=2)
    repo = deps.school_fees.fee_items.items
    for threshold in (1, 50, 150):
        item = await published(desk, ["一年级"])
        running = asyncio.create_task(generator.run(item["_id"]))
        while (current := await repo.get(item["_id"]))["bills"].get("generated", 0) < threshold:
            assert not running.done(), running
            await asyncio.sleep(0.002)
        withdrawn = await desk.items.withdraw(desk.finance, item["_id"], current["revision"], "暂停收取")
        outcome = await running

        bills = await bills_of(deps, item["_id"])
        assert withdrawn["state"] == "withdrawn" and outcome in ("stopped", "done")
        assert [b for b in bills if b["state"] != "cancelled"] == []  # not one unpaid bill of a withdrawn item
        stored = await repo.get(item["_id"])
        assert stored["bills"]["cancelled"] == len(bills) == stored["bills"]["generated"], (threshold, stored)
        assert outcome == "done" or len(bills) < 200
        assert await generator.run(item["_id"]) is None
        assert not await repo.request_bills(item["_id"])  # a withdrawn item is never billed again
