"""The local server reads its index catalogue once per data command (devstack/secantusd.py): writes must still
maintain every index, and a statement must still see what an earlier statement of the same command changed."""

from __future__ import annotations

import pytest
from pymongo import UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError

from config.wiring import Dependencies
from core.ids import new_id


async def test_an_index_flagged_multikey_mid_command_is_planned_as_such_by_the_next_statement(
        deps: Dependencies) -> None:
    things = deps.db[f"catalogue_{new_id()}"]
    await things.create_index("tags")
    await things.insert_many([{"_id": i, "tags": f"t{i}"} for i in range(20)])
    # one `update` command: the first statement makes `tags` an array (the server flags the index multikey, a
    # catalogue write; the catalogue remembered for the command is dropped), the second must find that array
    result = await things.bulk_write([UpdateOne({"_id": 1}, {"$set": {"tags": ["x", "t1"]}}),
                                      UpdateMany({"tags": ["x", "t1"]}, {"$set": {"hit": True}})], ordered=True)
    assert result.modified_count == 2
    assert [d["_id"] async for d in things.find({"hit": True})] == [1]
    assert [d["_id"] async for d in things.find({"tags": "x"})] == [1]


async def test_an_index_made_between_commands_is_kept_by_the_next_writes(deps: Dependencies) -> None:
    things = deps.db[f"catalogue_{new_id()}"]
    await things.insert_many([{"_id": i, "n": i, "state": "a"} for i in range(10)])
    await things.create_index("state", name="by_state")
    await things.update_many({"n": {"$lt": 4}}, {"$set": {"state": "b"}})
    await things.insert_many([{"_id": 100 + i, "n": 20 + i, "state": "b"} for i in range(3)])
    by_index = [d["_id"] async for d in things.find({"state": "b"}).hint("by_state")]
    assert sorted(by_index) == [0, 1, 2, 3, 100, 101, 102]
    await things.drop_index("by_state")
    await things.create_index("n", unique=True, name="n_unique")
    with pytest.raises(BulkWriteError) as refused:  # in one command: the second breaks the index made just before
        await things.bulk_write([UpdateOne({"_id": 5}, {"$set": {"n": 50}}),
                                 UpdateOne({"_id": 6}, {"$set": {"n": 50}})], ordered=False)
    assert refused.value.details["nModified"] == 1 and len(refused.value.details["writeErrors"]) == 1


async def test_profiling_settings_are_remembered_and_follow_every_change(deps: Dependencies) -> None:
    db = deps.mongo[f"profile_{new_id().lower()}"]
    try:
        assert (await db.command("profile", -1))["was"] == 0
        await db.command("profile", 2)  # every command recorded from now on
        await db.things.insert_one({"_id": 1})
        await db.things.find_one({"_id": 1})
        assert (await db.command("profile", -1))["was"] == 2
        assert await db["system.profile"].count_documents({"ns": f"{db.name}.things"}) >= 2
        await db.command("profile", 0)
        recorded = await db["system.profile"].count_documents({})
        await db.things.find_one({"_id": 1})
        assert await db["system.profile"].count_documents({}) == recorded  # off again: nothing more recorded
    finally:
        await deps.mongo.drop_database(db.name)
