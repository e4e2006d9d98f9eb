"""`./dev bench callbacks` and `./dev bench opening-day`: the benchmarks of school fees (issue 8).

Both start their own API process (the real app, pinned to CPU 0 like the other servers, with its own database
on the throw-away stack and its WeChat Pay notify URL pointing at itself) next to the shared simulators.

`callbacks` — verified WeChat Pay callbacks per second per process, with 10× duplicate delivery:
  N paying orders (bills, pupils, parents) are seeded through the repositories (bench/payments_seed.py); for
  each order the load generator gets 10 TRANSACTION.SUCCESS callbacks made exactly as WeChat Pay makes them
  (the simulator's own code: simulators/wechatpay_crypto.py, transaction_view, its platform key), every copy
  signed afresh. They are shuffled in windows of 10 orders (so copies of one notice are in flight at once) and
  sent by wrk (CPU 1, 50 connections) to ONE API process. Reported: callbacks/s (all 10·N deliveries over
  wrk's time), latency; checked: every answer 204, N orders paid with version 2 (exactly one state change),
  N bills paid, N `bill.paid` events, N receipts. Baselines in the same run: the bare Tornado server answering
  the same requests, and the verification alone (signature + decryption, in-process, one core).
`opening-day` — bench/payments_day.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.load import PIN_LOAD, PIN_SERVER
from config.settings import Settings
from config.wiring import Dependencies, mongo_client
from devstack.servers import LocalStack, free_port, wait_for_port
from payments.keys import load_private_key
from payments.wechatpay import WeChatPayClient
from simulators import wechatpay_crypto
from simulators.wechatpay_model import SHANGHAI, Order, rfc3339, transaction_view

# BENCH_CALLBACK_ORDERS=500 runs the same mix with fewer orders (a quick check while working on settlement).
ORDERS, COPIES, WINDOW, CONNECTIONS = int(os.environ.get("BENCH_CALLBACK_ORDERS", "2000")), 10, 10, 50
CALLBACKS_TARGET = 500.0  # verified callbacks per second per process
NOTIFY = "/api/v1/payments/wechatpay/notify"
LUA = r"""
-- wrk sends every line of the data file once, in order, then stops; wrk's own clock runs to -d, so the script
-- writes the real time from the first request to the last answer into a file (LuaJIT ffi: clock_gettime).
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } zsb_timespec; int clock_gettime(int, zsb_timespec *); ]]
local ts = ffi.new("zsb_timespec")
local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9 end
local reqs, total, i, answered, bad, first, outfile = {}, 0, 0, 0, 0, nil, nil
init = function(args)
  local path
  outfile, path = args[2], args[3]
  for line in io.lines(args[1]) do
    local stamp, nonce, sig, serial, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    total = total + 1
    reqs[total] = wrk.format("POST", path, {["Content-Type"] = "application/json",
      ["Wechatpay-Timestamp"] = stamp, ["Wechatpay-Nonce"] = nonce, ["Wechatpay-Signature"] = sig,
      ["Wechatpay-Serial"] = serial, ["Wechatpay-Signature-Type"] = "WECHATPAY2-SHA256-RSA2048"}, body)
  end
end
request = function()
  if first == nil then first = now() end
  i = i + 1
  return reqs[((i - 1) % total) + 1]
end
response = function(status, headers, body)
  answered = answered + 1
  if status >= 300 then bad = bad + 1 end
  if answered == total then
    local f = io.open(outfile, "w")
    f:write(string.format("%.6f %d %d\n", now() - first, answered, bad))
    f:close()
    wrk.thread:stop()
  end
end
"""


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(**{k.removeprefix("ZSB_").lower(): v for k, v in env.items() if k.startswith("ZSB_")})


def api_env(stack: LocalStack, sim: str, db: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZSB_")}
    app = f"http://127.0.0.1:{port}"
    env.update(stack.env(), ZSB_ENV="dev", ZSB_PORT=str(port), ZSB_MONGODB_DB=db,
               ZSB_WECHATPAY_BASE_URL=f"{sim}/wechatpay", ZSB_ALIPAY_BASE_URL=f"{sim}/alipay",
               ZSB_WECHAT_API_BASE_URL=f"{sim}/wechat", ZSB_POPULATION_BASE_URL=f"{sim}/population",
               ZSB_WECHATPAY_NOTIFY_URL=f"{app}{NOTIFY}", ZSB_ALIPAY_NOTIFY_URL=f"{app}/api/v1/payments/alipay/notify",
               **extra)
    return env


def start_api(env: dict[str, str], workdir: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    """The real app (one process, CPU 0), seeded with the demo catalogue (regions and departments) at start."""
    logs = (workdir / f"{name}-api.log").open("ab")
    proc = subprocess.Popen([*PIN_SERVER, sys.executable, "-m", "mobile_api"], env=env, stdout=logs,
                            stderr=subprocess.STDOUT)
    wait_for_port(int(env["ZSB_PORT"]), 90, proc)
    return proc, f"http://127.0.0.1:{env['ZSB_PORT']}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- callbacks -------------------------------------------------------------------------------------------------
def callback_deliveries(settings: Settings, orders: list[dict[str, Any]]) -> list[tuple[dict[str, str], bytes]]:
    """COPIES deliveries of each order's TRANSACTION.SUCCESS, each signed afresh, shuffled in windows."""
    platform = load_private_key(settings.sim_wechatpay_platform_private_key)
    apiv3 = settings.wechatpay_apiv3_key.get_secret_value().encode()
    mchid = settings.wechatpay_mchid
    per_order = []
    for doc in orders:
        paid_at = doc["created_at"].astimezone(SHANGHAI)
        sim_order = Order(doc["out_trade_no"], doc["appid"], doc["description"], doc["amount_fen"],
                          "o" + doc["person_id"], "", doc["bill_id"], None, doc["provider"]["prepay_id"], paid_at,
                          trade_state="SUCCESS", transaction_id=f"4200{secrets.randbelow(10**20):020d}",
                          success_time=paid_at.replace(microsecond=0))
        envelope = {"id": f"EV-{doc['_id']}", "create_time": rfc3339(paid_at), "resource_type": "encrypt-resource",
                    "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                    "resource": wechatpay_crypto.encrypt_resource(apiv3, transaction_view(sim_order, mchid),
                                                                  original_type="transaction",
                                                                  associated_data="transaction")}
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        per_order.append([(wechatpay_crypto.signed_headers(platform, settings.wechatpay_platform_public_key_id, body,
                                                           int(time.time())), body) for _ in range(COPIES)])
    random.shuffle(per_order)
    out: list[tuple[dict[str, str], bytes]] = []
    for start in range(0, len(per_order), WINDOW):
        window = [copy for copies in per_order[start:start + WINDOW] for copy in copies]
        random.shuffle(window)
        out += window
    return out


def write_requests(path: Path, deliveries: list[tuple[dict[str, str], bytes]]) -> None:
    with path.open("wb") as out:
        for headers, body in deliveries:
            assert b"\n" not in body and b"\t" not in body
            fields = [headers[n].encode() for n in ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature",
                                                     "Wechatpay-Serial")]
            out.write(b"\t".join([*fields, body]) + b"\n")


def wrk_deliveries(base: str, path: str, data: Path, script: Path) -> dict[str, float]:
    """Every request of `data` once (50 connections); the seconds from the first request to the last answer."""
    done = data.with_suffix(".done")
    done.unlink(missing_ok=True)
    wrk = subprocess.Popen([*PIN_LOAD, "wrk", "-t1", f"-c{CONNECTIONS}", "-d600s", "--latency", "-s", str(script),
                            base, "--", str(data), str(done), path], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not done.exists() and wrk.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.3)
    wrk.send_signal(signal.SIGINT)  # wrk prints its statistics and exits
    out, _ = wrk.communicate(timeout=30)
    if not done.exists():
        raise RuntimeError(f"wrk did not finish the deliveries:\n{out}")
    seconds, answered, bad = done.read_text().split()
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"seconds": float(seconds), "answered": int(answered), "non_2xx": int(bad),
            "wrk_non_2xx": int(non_2xx[1]) if non_2xx else 0, "p50_ms": _ms(out, "50%"), "p99_ms": _ms(out, "99%")}


def _ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"{re.escape(pct)}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def verification_rate(settings: Settings, deliveries: list[tuple[dict[str, str], bytes]], count: int = 2000) -> float:
    """Verified + decrypted notices per second, in-process on one core: the adapter's own verifier."""
    client = WeChatPayClient.from_settings(settings)
    sample = deliveries[:count]
    started = time.perf_counter()
    for headers, body in sample:
        client.verify_callback(headers, body)
    return len(sample) / (time.perf_counter() - started)


async def _seed_callbacks(settings: Settings) -> list[dict[str, Any]]:
    from bench.payments_seed import seed_paying_orders, seed_school

    deps = Dependencies.from_settings(settings)
    try:
        school = await seed_school(deps, ORDERS)
        return await seed_paying_orders(deps, school)
    finally:
        await deps.close()


async def _count_callbacks(settings: Settings, orders: list[dict[str, Any]]) -> dict[str, int]:
    client = mongo_client(settings)
    db = client[settings.mongodb_db]
    ids = [o["_id"] for o in orders]
    bill_ids = [o["bill_id"] for o in orders]
    try:
        for _ in range(60):  # receipts are issued in the background of the callback: let them finish
            receipts = await db["receipts"].count_documents({"out_trade_no": {"$in": ids}})
            if receipts >= len(ids):
                break
            await asyncio.sleep(0.5)
        return {
            "orders_paid": await db["payment_orders"].count_documents({"_id": {"$in": ids}, "state": "paid"}),
            "orders_version_2": await db["payment_orders"].count_documents({"_id": {"$in": ids}, "state": "paid",
                                                                            "version": 2}),
            "orders_late": await db["payment_orders"].count_documents({"_id": {"$in": ids}, "late": True}),
            "bills_paid": await db["bills"].count_documents({"_id": {"$in": bill_ids}, "state": "paid"}),
            "bill_paid_events": await db["outbox"].count_documents({"topic": "bill.paid",
                                                                    "data.bill_id": {"$in": bill_ids}}),
            "receipts": await db["receipts"].count_documents({"out_trade_no": {"$in": ids}}),
        }
    finally:
        await client.close()


def run_callbacks(stack: LocalStack, sim: str, bare: str, workdir: Path) -> bool:
    env = api_env(stack, sim, "zsb_bench_callbacks", free_port())
    settings = settings_of(env)
    asyncio.run(_drop(settings))
    proc, app = start_api(env, workdir, "callbacks")
    try:
        started = time.monotonic()
        orders = asyncio.run(_seed_callbacks(settings))
        deliveries = callback_deliveries(settings, orders)
        data, script = workdir / "callbacks.tsv", workdir / "callbacks.lua"
        write_requests(data, deliveries)
        script.write_text(LUA, encoding="utf-8")
        print(f"\ncallbacks: {len(orders):,} paying orders seeded, {len(deliveries):,} signed deliveries"
              f" ({COPIES}× each, shuffled in windows of {WINDOW} orders) in {time.monotonic() - started:.1f} s")
        verify_rate = verification_rate(settings, deliveries)
        base = wrk_deliveries(bare, "/payload?size=2", data, script)
        load_before = load_average()
        result = wrk_deliveries(app, NOTIFY, data, script)
        load_after = load_average()
        counts = asyncio.run(_count_callbacks(settings, orders))
    finally:
        stop(proc)
    total = len(deliveries)
    rate, bare_rate = total / result["seconds"], total / base["seconds"]
    n = len(orders)
    exact = all(counts[k] == n for k in ("orders_paid", "orders_version_2", "bills_paid", "bill_paid_events",
                                         "receipts")) and counts["orders_late"] == 0
    ok = rate >= CALLBACKS_TARGET and exact and result["non_2xx"] == 0
    print(f"  app  {rate:7.0f} callbacks/s ({total:,} in {result['seconds']:.1f} s, wrk -c{CONNECTIONS}, one API"
          f" process), p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, non-2xx {result['non_2xx']}")
    print(f"  bare {bare_rate:7.0f} req/s (the same requests, bare Tornado); ratio {rate / bare_rate:.2f};"
          f" verification alone {verify_rate:,.0f}/s in-process")
    print(f"  state changes: {counts} (each must be {n:,}; late 0)")
    print(f"  load average {load_before} → {load_after}; — {'meets' if ok else 'MISSES'} the target"
          f" (≥ {CALLBACKS_TARGET:.0f}/s, exactly one state change per order)")
    return ok


async def _drop(settings: Settings) -> None:
    client = mongo_client(settings)
    await client.drop_database(settings.mongodb_db)
    await client.close()


def run_opening_day(stack: LocalStack, sim: str, workdir: Path, *, parents: int, scale: float) -> bool:
    from bench.payments_day import opening_day

    env = api_env(stack, sim, "zsb_bench_opening", free_port(), ZSB_SIM_NOTIFY_TIME_SCALE=str(scale))
    settings = settings_of(env)
    asyncio.run(_drop(settings))
    proc, app = start_api(env, workdir, "opening-day")
    try:
        return asyncio.run(opening_day(settings, app, sim, parents=parents, scale=scale))
    finally:
        stop(proc)
        httpx.post(f"{sim}/_sim/wechatpay/reset", timeout=10)


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]

