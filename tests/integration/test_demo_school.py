"""The demo school-fee seed of `./dev run` (devstack/demo_school.py): run twice, the same data once."""

from __future__ import annotations

from typing import Any

from affairs.demo_catalogue import SeedReport
from config.wiring import Dependencies
from devstack.demo_school import CHILD, ITEM, PUPILS, SCHOOL_CODE, seed_demo_school
from devstack.demo_seed import seed_demo_staff

COLLECTIONS = ("schools", "school_classes", "students", "roster_imports", "fee_items", "bills", "audit_log")


async def _snapshot(deps: Dependencies, item_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every document of the demo school, collection by collection."""
    student_ids = [s["_id"] async for s in deps.db["students"].find({"school_id": SCHOOL_CODE}, {"_id": 1})]
    queries = {
        "schools": {"_id": SCHOOL_CODE}, "school_classes": {"school_id": SCHOOL_CODE},
        "students": {"school_id": SCHOOL_CODE}, "roster_imports": {"school_id": SCHOOL_CODE},
        "fee_items": {"school_id": SCHOOL_CODE}, "bills": {"fee_item_id": {"$in": item_ids}},
        "audit_log": {"key": {"$in": [SCHOOL_CODE, *item_ids, *student_ids]}},
    }
    return {name: [doc async for doc in deps.db[name].find(queries[name]).sort("_id", 1)] for name in COLLECTIONS}


async def test_demo_school_seed_makes_the_same_data_once(deps: Dependencies, demo_catalogue: SeedReport) -> None:
    await seed_demo_staff(deps.staff_admin)  # the school's finance account is demo staff
    first = await seed_demo_school(deps)
    assert first.school_created and first.roster_imported  # nothing else in the test database uses this school
    assert first.item_steps == ["created", "submitted", "approved:education", "approved:price", "published"]
    assert first.bills_created == len(PUPILS)

    items = await deps.school_fees.fee_items.items.of_school(SCHOOL_CODE)
    assert [(i["name"], i["state"], i["bills"]["state"]) for i in items] == [(ITEM.name, "published", "done")]
    assert {side: r["decision"] for side, r in items[0]["reviews"].items()} == {"education": "approved",
                                                                                "price": "approved"}
    before = await _snapshot(deps, [items[0]["_id"]])

    again = await seed_demo_school(deps)
    assert not again.changed, again
    assert await _snapshot(deps, [items[0]["_id"]]) == before

    assert len(before["schools"]) == 1 and len(before["school_classes"]) == 1
    assert len(before["roster_imports"]) == 1
    assert sorted(s["student_no"] for s in before["students"]) == sorted(p.student_no for p in PUPILS)
    assert len(before["bills"]) == len(PUPILS)
    assert {b["state"] for b in before["bills"]} == {"unpaid"}
    assert {b["amount_fen"] for b in before["bills"]} == {ITEM.amount_fen}
    child = next(s for s in before["students"] if s["name"] == CHILD.name)
    assert len(child["guardian_phones"]) == 2  # 陈志强's and 李秀兰's demo phones
