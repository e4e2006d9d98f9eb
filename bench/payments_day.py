"""`./dev bench opening-day`: parents pay a school's fees within 10 minutes of simulated time (issue 8).

Seeded (bench/payments_seed.py, not timed): one school, PARENTS pupils with one linked parent each, a published
fee item and its bills; every parent signed in (a login session and an access token from the real token service).

Then the morning, compressed: each parent arrives at a simulated moment of the first 10 minutes (front-loaded,
Beta(2, 4)), real time = simulated × `scale`; the WeChat Pay simulator's callback retry schedule is compressed by
the same factor (its `time_scale`). Every parent creates an order over HTTP with an Idempotency-Key (answers
5xx/409 are retried with the same key, as a phone would), then after 10–60 simulated seconds acts at the
simulator's cashier (control API). Kinds of parent:
- `pay` (most): pays once; `retry` (10 %): the POST is sent again with the same key (a lost answer), must name
  the same order, then pays; `twice` (3 %): opens a second order with a new key (the app was restarted), which
  closes the first at the provider, then tries to pay both — the first must be refused by the provider (closed,
  `superseded` here) and the second paid; `abandon` (5 %):
  closes the cashier (the order stays NOTPAY at the provider); `fail` (1 %): the bank refuses (PAYERROR).
After the last parent: the callbacks drain (the simulator retries until 2xx), then the real beat sweep
(`payments.order_tasks.run_sweep`) runs as the clock says 35 minutes later (expired orders closed at the
provider and here, PAYERROR → failed, refunds sent), until refunds settle.

Checked: zero bills paid twice (at most one paid order per bill, and the bill names it), zero money at the
provider without a paid order or a refund, every paid provider trade settled locally, every payer's bill paid,
abandoned orders closed and failed ones failed. Reported: order creation p50/p99 (first POST), totals, times.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.payments_seed import Family, seed_school
from config.settings import Settings
from config.wiring import Dependencies, mongo_client
from payments.order_tasks import run_sweep

SIM_SECONDS = 600.0
CLIENT_POOLS, CLIENT_CONNECTIONS = 16, 16  # the load generator's httpx pools (see Bounded)
KINDS = (("retry", 0.10), ("twice", 0.03), ("abandon", 0.05), ("fail", 0.01))
P99_TARGET_MS = None  # reported, no target in the issue


@dataclass
class Parent:
    family: Family
    kind: str
    arrive_s: float  # simulated seconds after opening
    think_s: float
    orders: list[str] = field(default_factory=list)
    create_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cashier_unanswered: bool = False  # a cashier call timed out: whether it paid is the provider's to say


class Bounded:
    """An httpx client that never has a request waiting inside its pool. httpx re-scans every waiting request
    against every connection on each event, so thousands of parents queued in a pool made the load generator,
    not the API, the bottleneck (a core at 100 % and the API idle); they wait here on a semaphore instead."""

    def __init__(self, client: httpx.AsyncClient, connections: int) -> None:
        self.client, self.slots = client, asyncio.Semaphore(connections)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        async with self.slots:
            return await self.client.post(url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        async with self.slots:
            return await self.client.get(url, **kwargs)


def plan(families: list[Family], seed: int = 8) -> list[Parent]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    parents = []
    for family in families:
        roll, kind = rng.random(), "pay"
        for name, share in KINDS:
            if roll < share:
                kind = name
                break
            roll -= share
        parents.append(Parent(family, kind, rng.betavariate(2, 4) * SIM_SECONDS, rng.uniform(10, 60)))
    return parents


async def create_order(api: Bounded, parent: Parent, key: str) -> tuple[str | None, int, float]:
    """(order id, status, ms of the first attempt); 5xx and 409 (in progress) retried with the same key."""
    headers = {"Authorization": f"Bearer {parent.family.token}", "Idempotency-Key": key}
    first_ms = 0.0
    for attempt in range(4):
        started = time.perf_counter()
        try:
            answer = await api.post(f"/api/v1/me/bills/{parent.family.bill_id}/orders", json={"channel": "wechatpay"},
                                    headers=headers)
        except httpx.HTTPError as exc:
            parent.errors.append(type(exc).__name__)
            status = 0
        else:
            status = answer.status_code
            if status in (200, 201):
                if attempt == 0:
                    first_ms = (time.perf_counter() - started) * 1000
                return answer.json()["id"], status, first_ms
            parent.errors.append(str(status))
        if attempt == 0:
            first_ms = (time.perf_counter() - started) * 1000
        await asyncio.sleep(1.0)
    return None, status, first_ms


async def one_parent(api: Bounded, sim: Bounded, parent: Parent, t0: float, scale: float) -> None:
    await asyncio.sleep(max(0.0, t0 + parent.arrive_s * scale - time.monotonic()))
    key = f"bench-{parent.family.person_id}-1"
    order_id, _, ms = await create_order(api, parent, key)
    parent.create_ms.append(ms)
    if order_id is None:
        return
    parent.orders.append(order_id)
    if parent.kind == "retry":
        again, status, _ = await create_order(api, parent, key)
        if again != order_id or status != 200:
            parent.errors.append(f"retry answered {status} {again}")
    if parent.kind == "twice":
        second, _, ms2 = await create_order(api, parent, f"bench-{parent.family.person_id}-2")
        parent.create_ms.append(ms2)
        if second is not None:
            parent.orders.append(second)
    await asyncio.sleep(parent.think_s * scale)
    action = {"abandon": "abandon", "fail": "fail"}.get(parent.kind, "pay")
    for position, order in enumerate(parent.orders):
        try:
            answer = await sim.post(f"/_sim/wechatpay/orders/{order}/{action}", json={})
        except httpx.HTTPError as exc:  # an overloaded cashier: the checks below still hold for this family
            parent.errors.append(f"sim {action} {type(exc).__name__}")
            parent.cashier_unanswered = True
            continue
        superseded = parent.kind == "twice" and position == 0 and len(parent.orders) == 2
        if superseded != (answer.status_code != 200):
            parent.errors.append(f"sim {action} {answer.status_code}" + (" (superseded order paid)" * superseded))


async def drain_callbacks(sim: httpx.AsyncClient, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        stats = (await sim.get("/_sim/wechatpay/stats")).json()
        if stats["callbacks_by_state"]["pending"] == 0 or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(1.0)


async def sweep_until_quiet(settings: Settings, now: datetime) -> Counter[str]:
    total: Counter[str] = Counter()
    for _ in range(200):
        counts = await run_sweep(settings, now=now)
        total.update(counts)
        if not any(k in counts for k in ("closed", "failed", "applied", "duplicate", "refund_requested",
                                         "provider_unavailable", "refund_sent", "refund_processing")):
            break
    return total


async def wait_refunds(settings: Settings, within_s: float) -> int:
    """Refunds of late money still not `refunded` after the simulator settled them (or time ran out)."""
    client = mongo_client(settings)
    orders = client[settings.mongodb_db]["payment_orders"]
    deadline = time.monotonic() + within_s
    try:
        while True:
            open_refunds = await orders.count_documents({"refund.state": {"$in": ["requested", "processing"]}})
            if open_refunds == 0 or time.monotonic() > deadline:
                return open_refunds
            await asyncio.sleep(1.0)
    finally:
        await client.close()


async def check(settings: Settings, sim: httpx.AsyncClient, parents: list[Parent]) -> dict[str, Any]:
    client = mongo_client(settings)
    db = client[settings.mongodb_db]
    try:
        orders = {d["_id"]: d async for d in db["payment_orders"].find({})}
        bills = {d["_id"]: d async for d in db["bills"].find({}, {"state": 1, "payment": 1})}
    finally:
        await client.close()
    provider = {o["out_trade_no"]: o for o in (await sim.get("/_sim/wechatpay/orders")).json()["orders"]}
    paid_per_bill = Counter(o["bill_id"] for o in orders.values() if o["state"] == "paid")
    result: Counter[str] = Counter()
    result["bills_paid_twice"] = sum(1 for n in paid_per_bill.values() if n > 1)
    for bill_id, bill in bills.items():
        paid_orders = paid_per_bill.get(bill_id, 0)
        if (bill["state"] == "paid") != (paid_orders == 1):
            result["bill_and_orders_disagree"] += 1
        if bill["state"] == "paid" and orders[bill["payment"]["order_id"]]["state"] != "paid":
            result["bill_names_unpaid_order"] += 1
    for number, trade in provider.items():
        if trade["trade_state"] not in ("SUCCESS", "REFUND"):
            continue
        result["provider_trades_with_money"] += 1
        local = orders.get(number)
        if local is None or not local.get("payment"):
            result["provider_paid_not_settled_here"] += 1
            continue
        if local["state"] == "paid":
            result["money_on_paid_orders"] += 1
        elif (local.get("refund") or {}).get("state") == "refunded" and trade["trade_state"] == "REFUND":
            result["money_refunded"] += 1
        else:
            result["money_without_paid_order_or_refund"] += 1
    for parent in parents:
        bill = bills[parent.family.bill_id]
        if parent.cashier_unanswered:  # no expectation of its own; the provider-side checks above cover it
            result["cashier_calls_unanswered"] += 1
        elif parent.kind in ("pay", "retry", "twice"):
            result["payers"] += 1
            if bill["state"] != "paid":
                result["payers_bill_not_paid"] += 1
            if parent.kind == "twice" and len(parent.orders) == 2:
                first = orders[parent.orders[0]]
                ok = first["state"] == "closed" and first.get("closed_reason") == "superseded"
                result["superseded_orders_closed" if ok else "superseded_orders_not_closed"] += 1
        else:
            states = {orders[o]["state"] for o in parent.orders}
            expected = "closed" if parent.kind == "abandon" else "failed"
            if states != {expected}:
                result[f"{parent.kind}_orders_not_{expected}"] += 1
    result["orders"] = len(orders)
    result["orders_paid"] = sum(1 for o in orders.values() if o["state"] == "paid")
    result["late_money_orders"] = sum(1 for o in orders.values() if o.get("late"))
    return dict(result)


async def opening_day(settings: Settings, app: str, sim_url: str, *, parents: int, scale: float) -> bool:
    started = time.monotonic()
    deps = Dependencies.from_settings(settings)
    try:
        school = await seed_school(deps, parents, sessions=True)
    finally:
        await deps.close()
    people = plan(school.families)
    kinds = Counter(p.kind for p in people)
    print(f"\nopening-day: {parents:,} parents ({dict(kinds)}) seeded with sessions in {time.monotonic() - started:.1f}"
          f" s; 10 simulated minutes at ×{scale} ({SIM_SECONDS * scale:.0f} s), callbacks retried ×{scale}")
    affinity = os.sched_getaffinity(0)
    if len(affinity) > 1 and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})  # the load generator on CPU 1, the API on CPU 0 (as wrk)
    limits = httpx.Limits(max_connections=CLIENT_CONNECTIONS, max_keepalive_connections=CLIENT_CONNECTIONS)
    try:
        async with contextlib.AsyncExitStack() as stack:
            apis = [Bounded(await stack.enter_async_context(httpx.AsyncClient(base_url=app, timeout=60, limits=limits)),
                            CLIENT_CONNECTIONS) for _ in range(CLIENT_POOLS)]
            sims = [Bounded(await stack.enter_async_context(
                httpx.AsyncClient(base_url=sim_url, timeout=60, limits=limits)), CLIENT_CONNECTIONS)
                for _ in range(CLIENT_POOLS)]
            sim = sims[0].client
            (await sim.post("/_sim/wechatpay/reset", json={})).raise_for_status()
            (await sim.post("/_sim/wechatpay/config", json={"time_scale": scale})).raise_for_status()
            load_before = _load()
            t0 = time.monotonic()
            await asyncio.gather(*(one_parent(apis[i % CLIENT_POOLS], sims[i % CLIENT_POOLS], p, t0, scale)
                                   for i, p in enumerate(people)))
            morning_s = time.monotonic() - t0
            load_after = _load()
            stats = await drain_callbacks(sim, within_s=120)
            drained_s = time.monotonic() - t0
            later = datetime.now(UTC) + timedelta(minutes=settings.payment_order_ttl_min + 5)
            swept = await sweep_until_quiet(settings, later)
            left = await wait_refunds(settings, within_s=120)
            swept.update(await sweep_until_quiet(settings, later + timedelta(minutes=settings.refund_query_after_min)))
            left = await wait_refunds(settings, within_s=30)
            result = await check(settings, sim, people)
            stats = (await sim.get("/_sim/wechatpay/stats")).json()
    finally:
        os.sched_setaffinity(0, affinity)
    firsts = [p.create_ms[0] for p in people if p.create_ms]
    errors = Counter(e for p in people for e in p.errors)
    from bench.payments import p as pct

    ok = (result.get("bills_paid_twice", 0) == 0 and result.get("money_without_paid_order_or_refund", 0) == 0
          and result.get("provider_paid_not_settled_here", 0) == 0 and result.get("payers_bill_not_paid", 0) == 0
          and result.get("bill_and_orders_disagree", 0) == 0 and result.get("bill_names_unpaid_order", 0) == 0
          and not any(k.endswith(("_not_closed", "_not_failed")) for k in result) and left == 0)
    print(f"  morning: {len(firsts):,} orders created in {morning_s:.1f} s ({len(firsts) / morning_s:.0f}/s);"
          f" order creation p50 {pct(firsts, 0.5):.0f} ms, p99 {pct(firsts, 0.99):.0f} ms, max {max(firsts):.0f} ms;"
          f" client errors {dict(errors) or 0}")
    print(f"  callbacks: {stats['callbacks']:,} notices, {stats['callback_attempts']:,} attempts,"
          f" {stats['callback_attempts_received']:,} received; drained at {drained_s:.1f} s;"
          f" provider orders {stats['orders_by_state']}, refunds {stats['refunds']}")
    print(f"  sweep (clock +{settings.payment_order_ttl_min + 5} min): {dict(swept)}; refunds still open {left}")
    print(f"  checks: {result}")
    print(f"  load average {load_before} → {load_after}; — {'meets' if ok else 'MISSES'} the target (zero bills paid"
          f" twice, zero money without a paid order or a refund, every provider payment settled here)")
    return ok


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])
