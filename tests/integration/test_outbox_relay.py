"""The relay in-process against the real database: a burst recorded one event at a time (as domain transactions
record them) is handed over exactly once, in batches rather than event by event, and marked dispatched."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from config.wiring import Dependencies
from core.ids import new_id
from core.outbox import OutboxEvent, OutboxRepository, Recipient
from notifications.relay import OutboxRelay
from tests.support.notify import eventually


async def stream_active(relay: OutboxRelay) -> bool | None:
    return relay.change_stream == "active" or None


async def all_handed_over(relay: OutboxRelay, count: int) -> bool | None:
    return relay.published >= count or None


async def test_a_burst_is_handed_over_once_in_batches(deps: Dependencies) -> None:
    db = deps.mongo[f"relay_{new_id().lower()}"]
    outbox = OutboxRepository(db)
    await outbox.ensure_indexes()
    calls: list[list[str]] = []
    lock = threading.Lock()

    def publish(events: list[dict[str, Any]]) -> list[str]:  # the broker, as the relay calls it (a thread)
        with lock:
            calls.append([event["_id"] for event in events])
        return [event["_id"] for event in events]

    relay = OutboxRelay(outbox, publish, batch=500, poll_s=0.5)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await eventually(lambda: stream_active(relay), within_s=10, what="the change stream")
        ids = []
        for n in range(150):
            ids.append(await outbox.add(OutboxEvent("case.approved", f"relay-test:{n}",
                                                    (Recipient("person", "p1"),), {"n": n})))
            await asyncio.sleep(0.002)
        await eventually(lambda: all_handed_over(relay, len(ids)), within_s=20, what="every event handed over")
        assert await db["outbox"].count_documents({"state": "dispatched"}) == len(ids)
    finally:
        stop.set()
        await running
        await deps.mongo.drop_database(db.name)
    handed = [event_id for call in calls for event_id in call]
    assert sorted(handed) == sorted(ids)  # every event once, none twice
    assert len(calls) <= len(ids) // 5, f"{len(calls)} hand-overs for {len(ids)} events"
