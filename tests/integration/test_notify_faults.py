"""The notification pipeline under faults, with real processes: a worker SIGKILLed mid-batch, the broker (Redis)
down, the SMS provider answering 5xx for a while. Each time every message reaches its phone exactly once.

Each test runs on a lane of its own: its own Redis (the broker, so it can be stopped), its own MongoDB database on
the session's server (so the session's relay and worker never see its events), its own relay, worker and beat
processes, and the session's simulators. Time is compressed by the test settings (tests/support/notify.py:
leases of 4 s, a sweep every second, retries from 0.2 s), so each test takes seconds."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from config.settings import Settings
from config.wiring import REPOSITORIES, Dependencies
from core.mongo import ensure_all_indexes
from devstack.servers import Process, free_port, redis_command, spawn, wait_for_port
from notifications.messages import MessageRepository
from notifications.templates import default_book
from tests.support.notify import (
    PipelineProcess,
    eventually,
    person_with_phone,
    record_event,
    settled_messages,
)
from tests.support.sms import SmsSim, fresh_sms_sim
from tests.support.worker import CeleryWorker

pytestmark = pytest.mark.slow
APPROVED = dict(default_book().latest("case.approved").sample)  # type: ignore[union-attr]


@dataclass
class Lane:
    """A pipeline of its own: broker, database, relay, worker and beat."""

    workdir: Path
    env: dict[str, str]
    db: AsyncDatabase[dict[str, Any]]
    redis_port: int
    redis: Process | None = None
    workers: list[CeleryWorker] = field(default_factory=list)
    others: list[PipelineProcess] = field(default_factory=list)

    def start_redis(self) -> None:
        self.redis = spawn("redis", redis_command(self.redis_port), self.workdir)
        wait_for_port(self.redis_port, 10, self.redis.popen)

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.stop()

    def start_worker(self, **extra_env: str) -> CeleryWorker:
        worker = CeleryWorker.start(self.env | extra_env, self.workdir / f"worker-{len(self.workers)}.log")
        self.workers.append(worker)
        return worker

    def start_relay(self) -> PipelineProcess:
        self.others.append(PipelineProcess.relay(self.env, self.workdir / "relay.log"))
        return self.others[-1]

    def start_beat(self) -> PipelineProcess:
        self.others.append(PipelineProcess.beat(self.env, self.workdir / "beat.log"))
        return self.others[-1]

    def stop(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.stop()
        for process in self.others:
            process.stop()
        if self.redis is not None:
            self.redis.stop()


@pytest.fixture
async def lane(subprocess_env: dict[str, str], deps: Dependencies, simulators: str, tmp_path: Path
               ) -> AsyncIterator[Lane]:
    port, name = free_port(), f"zsb_faults_{secrets.token_hex(4)}"
    env = subprocess_env | {"ZSB_REDIS_URL": f"redis://127.0.0.1:{port}/0", "ZSB_MONGODB_DB": name}
    db = deps.mongo[name]
    await ensure_all_indexes(db, REPOSITORIES)
    own = Lane(tmp_path, env, db, port)
    own.start_redis()
    try:
        yield own
    finally:
        own.stop()
        await deps.mongo.drop_database(name)


@pytest.fixture
async def sms(simulators: str) -> AsyncIterator[SmsSim]:
    async with fresh_sms_sim(simulators) as sim:
        yield sim


async def phones(lane: Lane, settings: Settings, count: int) -> dict[str, str]:
    """`count` people who proved a phone: {person id: phone}."""
    return dict([await person_with_phone(lane.db, settings) for _ in range(count)])


async def each_got_one(sms: SmsSim, people: dict[str, str]) -> None:
    for phone in people.values():
        received = await sms.messages(phone)
        assert len(received) == 1, (phone, received)
        assert "审核通过" in received[0]["text"]


async def test_a_worker_killed_mid_batch_delivers_every_message_exactly_once_after_restart(
        lane: Lane, settings: Settings, sms: SmsSim) -> None:
    lane.start_relay()
    lane.start_beat()
    first = lane.start_worker()
    before = await phones(lane, settings, 5)
    done = await record_event(lane.db, "case.approved", [("person", p) for p in before], APPROVED)
    await settled_messages(lane.db, done, count=5)

    # the next batch: 30 people (the bulk queue, one send task). The provider stalls the first 8 sends (all the
    # worker has in flight); the other 22 are claimed and waiting their turn when the worker is killed.
    await sms.fault(delay_ms=60_000, times=8)
    batch = await phones(lane, settings, 30)
    event_id = await record_event(lane.db, "case.approved", [("person", p) for p in batch], APPROVED)
    messages = MessageRepository(lane.db)

    async def mid_batch() -> bool:
        docs = await messages.for_event(event_id)
        stalled = (await sms.stats())["faults_served"] >= 8
        return stalled and len(docs) == 30 and all(d["state"] == "sending" for d in docs)

    await eventually(mid_batch, what="30 messages claimed, 8 of them stalled at the provider")
    first.process.kill()  # SIGKILL: no acknowledgement, no clean-up; the stalled requests die with it
    first.process.wait(10)
    lane.start_worker()

    docs = await settled_messages(lane.db, event_id, count=30, within_s=60)
    assert {d["state"] for d in docs} == {"sent"} and all(d["attempts"] >= 2 for d in docs)  # reclaimed after the lease
    await each_got_one(sms, before | batch)
    assert len(await messages.for_event(done)) == 5  # the earlier event was not sent again


async def test_with_redis_down_events_wait_in_the_outbox_and_flow_when_it_returns(
        lane: Lane, settings: Settings, sms: SmsSim) -> None:
    relay = lane.start_relay()
    lane.start_worker()
    lane.stop_redis()
    people = await phones(lane, settings, 3)
    event_ids = [await record_event(lane.db, "case.approved", [("person", p)], APPROVED) for p in people]

    await eventually(lambda: _async(relay.log_text().count("relay_round_failed") >= 2),
                     what="the relay failing to reach the broker, twice")
    states = {doc["state"] async for doc in lane.db["outbox"].find({"_id": {"$in": event_ids}})}
    assert states == {"pending"}  # nothing was marked dispatched while nothing could be published
    assert await lane.db["notification_messages"].count_documents({}) == 0

    lane.start_redis()
    for event_id in event_ids:
        [message] = await settled_messages(lane.db, event_id, within_s=60)
        assert message["state"] == "sent"
    await each_got_one(sms, people)


async def test_a_provider_answering_5xx_for_a_while_is_retried_until_it_succeeds_without_duplicates(
        lane: Lane, settings: Settings, sms: SmsSim) -> None:
    lane.start_relay()
    lane.start_worker(ZSB_NOTIFY_MAX_ATTEMPTS="10")  # 10 tries from 0.2 s, capped at 1 s: ≥ 3.7 s of outage
    await sms.fault(http_status=503, times=10_000)  # down until we say
    people = await phones(lane, settings, 5)
    event_id = await record_event(lane.db, "case.approved", [("person", p) for p in people], APPROVED)
    messages = MessageRepository(lane.db)

    async def every_one_failed_twice() -> bool:
        docs = await messages.for_event(event_id)
        return len(docs) == 5 and all(d["attempts"] >= 2 and d["state"] == "created" for d in docs)

    await eventually(every_one_failed_twice, what="every message failing twice on the 503s")
    cleared = await sms.client.delete("/_sim/sms/faults")  # the provider is back
    cleared.raise_for_status()

    docs = await settled_messages(lane.db, event_id, count=5, within_s=60)
    assert {d["state"] for d in docs} == {"sent"}
    for doc in docs:
        retries = [step for step in doc["history"] if step.get("reason") == "TRANSIENT"]
        assert len(retries) >= 2 and doc["attempts"] == len(retries) + 1
    assert (await sms.stats())["faults_served"] >= 10
    await each_got_one(sms, people)


async def _async(value: bool) -> bool:
    return value
