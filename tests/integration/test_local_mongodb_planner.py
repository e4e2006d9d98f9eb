"""findAndModify and filters with operators on the local server with its planner fix (devstack/secantusd.py):
the candidates change, the answers must not — every condition of the filter still decides."""

from __future__ import annotations

import asyncio

from pymongo import ReturnDocument

from config.wiring import Dependencies
from core.ids import new_id


async def test_find_one_and_update_still_honours_every_condition(deps: Dependencies) -> None:
    things = deps.db[f"planner_{new_id()}"]
    await things.insert_many([{"_id": f"t{i}", "state": "open", "payment": None, "v": 0} for i in range(50)])
    miss = await things.find_one_and_update({"_id": "t1", "state": {"$in": ["closed"]}}, {"$inc": {"v": 1}})
    assert miss is None and (await things.find_one({"_id": "t1"}))["v"] == 0
    hit = await things.find_one_and_update({"_id": "t1", "state": {"$in": ["open"]}, "payment": None},
                                           {"$set": {"state": "paid"}, "$inc": {"v": 1}},
                                           return_document=ReturnDocument.AFTER)
    assert hit == {"_id": "t1", "state": "paid", "payment": None, "v": 1}
    # the same conditional transition ten times at once: exactly one applies
    answers = await asyncio.gather(*(things.find_one_and_update(
        {"_id": "t2", "state": "open"}, {"$set": {"state": "paid"}, "$inc": {"v": 1}}) for _ in range(10)))
    assert sum(a is not None for a in answers) == 1 and (await things.find_one({"_id": "t2"}))["v"] == 1


async def test_reads_and_writes_with_top_level_operators_answer_as_before(deps: Dependencies) -> None:
    things = deps.db[f"planner_{new_id()}"]
    await things.create_index("kind")
    await things.insert_many([{"_id": i, "kind": "a" if i % 2 else "b", "n": i} for i in range(40)])
    found = await things.find({"kind": "a", "$or": [{"n": {"$lt": 5}}, {"n": {"$gt": 35}}]}).to_list(None)
    assert sorted(d["_id"] for d in found) == [1, 3, 37, 39]
    result = await things.update_many({"kind": "b", "$and": [{"n": {"$gte": 10}}, {"n": {"$lt": 14}}]},
                                      {"$set": {"hit": True}})
    assert result.modified_count == 2 and await things.count_documents({"hit": True}) == 2
    deleted = await things.delete_many({"kind": "a", "$nor": [{"n": {"$gt": 3}}]})
    assert deleted.deleted_count == 2
