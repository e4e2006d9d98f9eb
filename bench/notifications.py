"""`./dev bench notifications`: 20,000 notifications from the outbox to the SMS simulator, through the real relay
and Celery worker processes.

Setup (not timed): 2,000 people who proved a phone, in a database of their own on the throw-away stack. Then the
burst: 10,000 events to one person each (a case's progress, queue `default`) and 100 events to 100 people each
(bills published to a class, queue `bulk`), recorded through the real outbox repository as fast as it takes
them, while the relay and the workers (one solo worker process per core) drain them into the simulator (the
Aliyun adapter, its SDK and ACS3 signatures, as in production). Every person gets 10 SMS.

Reported: the total time (first event recorded → last SMS accepted by the simulator), messages per second, and
end-to-end latency per message (its event recorded → the simulator's timestamp of the SMS) p50 / p99 / max.
Checked: every event has exactly one message per recipient, every message is `sent`, the simulator holds exactly
20,000 SMS and each phone exactly 10 (zero duplicates, zero lost). Target: under 2 minutes.

Under a burst every message queues behind the ones recorded before it, so latency grows with the backlog; p99 is
close to the total time by construction. The numbers are from a shared 2-core machine: see the README row.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from accounts.events import AccountEventRepository
from accounts.people import PersonRepository
from accounts.phone_accounts import PhoneAccounts
from config.pii import pii_from_settings
from config.settings import Settings
from config.wiring import REPOSITORIES, mongo_client
from core.ids import new_id
from core.mongo import ensure_all_indexes
from core.outbox import OutboxEvent, OutboxRepository, Recipient
from devstack.servers import LocalStack
from notifications.templates import default_book

# BENCH_NOTIFY_SCALE=0.1 runs the same mix at a tenth of the size (a quick check while working on the pipeline).
SCALE = float(os.environ.get("BENCH_NOTIFY_SCALE", "1"))
BULK_SIZE = 100
PEOPLE, SINGLE_EVENTS, BULK_EVENTS = max(BULK_SIZE, int(2_000 * SCALE)), int(10_000 * SCALE), max(1, int(100 * SCALE))
TOTAL = SINGLE_EVENTS + BULK_EVENTS * BULK_SIZE
TARGET_S = 120.0
STALLED_S = 30.0  # no SMS arrived for this long: stop waiting, report what is missing
DB = "zsb_bench_notify"
# As in the tests: no quiet hours (a run at 23:00 would wait for the morning); the rest are the defaults.
PIPELINE_ENV = {"ZSB_NOTIFY_QUIET_HOURS": "", "ZSB_NOTIFY_RELAY_POLL_S": "0.5", "ZSB_LOG_LEVEL": "WARNING"}


def pipeline_env(stack: LocalStack, sim_url: str) -> dict[str, str]:
    sim_host = sim_url.removeprefix("http://")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZSB_")}
    env.update(stack.env() | PIPELINE_ENV, ZSB_ENV="dev", ZSB_MONGODB_DB=DB, ZSB_SMS_ALIYUN_ENDPOINT=sim_host,
               ZSB_WECHAT_API_BASE_URL=f"{sim_url}/wechat", PYTHONUNBUFFERED="1")
    return env


def start(workdir: Path, env: dict[str, str], workers: int) -> list[subprocess.Popen[bytes]]:
    logs = (workdir / "notify-pipeline.log").open("ab")
    procs = [subprocess.Popen([sys.executable, "-m", "notifications.relay"], env=env, stdout=logs,
                              stderr=subprocess.STDOUT)]
    for index in range(workers):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "notifications.celery_app", "worker", "--pool", "solo",
             "-Q", "urgent,default,bulk", "-n", f"bench{index}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--loglevel", "WARNING"], env=env, stdout=logs, stderr=subprocess.STDOUT))
    return procs


def wait_for_workers(env: dict[str, str], workers: int, *, within_s: float = 120.0) -> float:
    """Seconds until every worker answers a ping. A worker imports every task module of the app (the xlsx
    import, payments, …) before it takes a task: 10–20 s on a busy 2-core machine. A burst recorded before that
    measured the start-up of the processes, not the pipeline (the first SMS only after the imports)."""
    from celery import Celery

    app = Celery(broker=env["ZSB_REDIS_URL"])
    started = time.monotonic()
    try:
        while time.monotonic() - started < within_s:
            if len(app.control.ping(timeout=1.0) or []) >= workers:
                break
    finally:
        app.close()
    return time.monotonic() - started


async def seed_people(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """PEOPLE people with verified phones (through accounts.phone_accounts, as SMS login makes them)."""
    client = mongo_client(settings)
    db = client[DB]
    await client.drop_database(DB)
    await ensure_all_indexes(db, REPOSITORIES)
    cipher, index = pii_from_settings(settings)
    accounts = PhoneAccounts(PersonRepository(db), AccountEventRepository(db), cipher, index)
    phones = [f"+86139{n:08d}" for n in range(PEOPLE)]
    ids: list[str] = []
    for start_at in range(0, PEOPLE, 100):
        made = await asyncio.gather(*(accounts.find_or_create(p) for p in phones[start_at:start_at + 100]))
        ids += [person.id for person, _ in made]
    await client.close()
    return ids, dict(zip(ids, phones, strict=True))


def events(person_ids: list[str]) -> list[OutboxEvent]:
    """The burst: single-recipient case events and class-sized bill events, interleaved."""
    case = dict(default_book().latest("case.approved").sample)  # type: ignore[union-attr]
    bill = dict(default_book().latest("bill.published").sample)  # type: ignore[union-attr]
    singles = [OutboxEvent("case.approved", f"bench:{new_id()}", (Recipient("person", person_ids[n % PEOPLE]),),
                           case, {"kind": "bench", "id": str(n)}) for n in range(SINGLE_EVENTS)]
    bulks = [OutboxEvent("bill.published", f"bench:{new_id()}",
                         tuple(Recipient("person", person_ids[(n * BULK_SIZE + k) % PEOPLE]) for k in range(BULK_SIZE)),
                         bill, {"kind": "bench", "id": f"b{n}"}) for n in range(BULK_EVENTS)]
    step = SINGLE_EVENTS // BULK_EVENTS
    mixed: list[OutboxEvent] = []
    for n in range(BULK_EVENTS):
        mixed += singles[n * step:(n + 1) * step] + [bulks[n]]
    return mixed


async def burst(settings: Settings, batch: list[OutboxEvent]) -> float:
    client = mongo_client(settings)
    outbox = OutboxRepository(client[DB])
    started = time.time()
    for start_at in range(0, len(batch), 200):
        await asyncio.gather(*(outbox.add(e) for e in batch[start_at:start_at + 200]))
    recorded = time.time() - started
    await client.close()
    return recorded


async def wait_for_sim(sim_url: str, *, within_s: float) -> tuple[list[dict[str, Any]], float]:
    """The simulator's inbox once it holds TOTAL messages (or the time ran out); the time it took."""
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(base_url=sim_url, timeout=30) as sim:
        shown = moved = time.monotonic()
        last = -1
        while True:
            delivered = (await sim.get("/_sim/sms/stats")).json()["delivered"]
            if delivered != last:
                last, moved = delivered, time.monotonic()
            if delivered >= TOTAL or time.monotonic() > deadline or time.monotonic() - moved > STALLED_S:
                break
            if time.monotonic() - shown >= 10:
                shown = time.monotonic()
                print(f"  … {delivered:,} delivered", flush=True)
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)  # anything more (a duplicate) would arrive now
        return (await sim.get("/_sim/sms/messages")).json()["messages"], time.monotonic()


async def check(settings: Settings, inbox: list[dict[str, Any]], phones: dict[str, str]) -> dict[str, Any]:
    client = mongo_client(settings)
    db = client[DB]
    found = [d async for d in db["notification_messages"].find({}, {"state": 1, "event_id": 1})]
    states, per_event = Counter(d["state"] for d in found), Counter(d["event_id"] for d in found)
    outbox = [d async for d in db["outbox"].find({}, {"created_at": 1, "recipients": 1})]
    created = {d["_id"]: d["created_at"] for d in outbox}
    wrong = sum(1 for d in outbox if per_event[d["_id"]] != len(d["recipients"]))
    event_of = {d["_id"]: d["event_id"] for d in found}
    await client.close()
    expected = Counter(r["id"] for d in outbox for r in d["recipients"])
    received = Counter(m["phone"] for m in inbox)
    wanted = Counter({phones[pid]: n for pid, n in expected.items()})
    latencies = sorted((datetime.fromisoformat(m["sent_at"]) - created[event_of[m["out_id"]]]).total_seconds()
                       for m in inbox if m.get("out_id") in event_of)
    return {"states": dict(states), "messages": sum(states.values()), "events": len(created),
            "events_with_wrong_count": wrong,
            "duplicates": sum(max(0, received[p] - wanted[p]) for p in received),
            "lost": sum(max(0, wanted[p] - received[p]) for p in wanted), "latencies": latencies,
            "first_created": min(created.values()),
            "first_sent": min(datetime.fromisoformat(m["sent_at"]) for m in inbox) if inbox else None,
            "last_sent": max(datetime.fromisoformat(m["sent_at"]) for m in inbox) if inbox else None}


def run_notifications(stack: LocalStack, sim_url: str, workdir: Path, *, workers: int = 2) -> bool:
    env = pipeline_env(stack, sim_url)
    settings = Settings(**{k.removeprefix("ZSB_").lower(): v for k, v in env.items() if k.startswith("ZSB_")})
    httpx.post(f"{sim_url}/_sim/sms/reset", timeout=10).raise_for_status()
    seed_started = time.monotonic()
    person_ids, phones = asyncio.run(seed_people(settings))
    batch = events(person_ids)
    print(f"\nnotifications: {TOTAL:,} SMS ({SINGLE_EVENTS:,} one-person events + {BULK_EVENTS} events × "
          f"{BULK_SIZE} people) to {PEOPLE:,} phones; relay + {workers} solo worker(s); "
          f"seeded in {time.monotonic() - seed_started:.1f} s")
    procs = start(workdir, env, workers)
    try:
        ready_s = wait_for_workers(env, workers)
        print(f"  {workers} worker(s) ready after {ready_s:.1f} s (imports and connections, before the burst)")
        recording_s = asyncio.run(burst(settings, batch))
        inbox, _ = asyncio.run(wait_for_sim(sim_url, within_s=TARGET_S * 3))
        result = asyncio.run(check(settings, inbox, phones))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:  # a solo worker finishes its task first; the run is over
                proc.kill()
                proc.wait(5)
    latencies = result.pop("latencies")
    total_s = ((result["last_sent"] - result["first_created"]).total_seconds() if result["last_sent"]
               else float("inf"))
    rate = len(inbox) / total_s if total_s else 0.0
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    ok = (total_s < TARGET_S and result["duplicates"] == 0 and result["lost"] == 0
          and result["states"].get("sent", 0) == TOTAL and result["events_with_wrong_count"] == 0)
    first_s = ((result["first_sent"] - result["first_created"]).total_seconds() if result["first_sent"]
               else float("inf"))
    print(f"  events recorded in {recording_s:.1f} s; first SMS after {first_s:.1f} s; SMS at the simulator: "
          f"{len(inbox):,}; message states {result['states']}")
    print(f"  total {total_s:.1f} s, {rate:.0f} messages/s; end-to-end latency p50 {p50:.1f} s, p99 {p99:.1f} s, "
          f"max {latencies[-1] if latencies else float('nan'):.1f} s")
    print(f"  duplicates {result['duplicates']}, lost {result['lost']} — {'meets' if ok else 'MISSES'} the target "
          f"(< {TARGET_S:.0f} s, zero duplicates, zero lost); load average "
          f"{' '.join(f'{n:.1f}' for n in os.getloadavg())} (shared machine)")
    return ok
