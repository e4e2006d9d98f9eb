"""`./dev bench my-cases inbox`: the two hottest case reads with 100,000 cases in the database.

- `my-cases`: `GET /api/v1/cases` (我的办件, first page of 20) by a resident with 25 cases of their own, among
  100,000 cases of 20,000 residents: token and session check, one indexed query, 20 list items with their
  working-day clocks.
- `inbox`: `GET /api/v1/staff/tasks` (待办, first page of 20, most urgent first) by a staff member of the
  department whose region subtree holds the most open tasks (hundreds): the staff account read fresh, the scope
  check, one indexed query over the tasks of all 100,000 cases.
Both at 50 connections, against the bare server answering the same number of bytes; target p99 < 50 ms, and
the ratio app/bare is reported (median of paired rounds) with a floor that only catches regressions. Every
round measures the app twice: read alone, and while the page under test is written to (bench/cases_churn.py:
read alone, a first page is served as kept; the writes send readers to the database as a working day does).

The data is written straight into the database (bench/cases_seed.py replays each case through the workflow's
own pure functions), never through 100,000 HTTP calls. The resident signs in as a phone does (WeChat
simulator, citizen ID bound against the population simulator: devstack/demo_login.py); the staff member is
made through the staff service as an administrator would, then signs in with password + SMS code, the code
delivered by a real Celery worker to the SMS simulator (started for the sign-in only, stopped before loading).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from accounts.phone import parse_cn_mobile
from accounts.regions import region_level
from accounts.staff import NewStaff
from affairs import case_chain
from affairs.case_repository import CaseEventRepository, CaseRepository, CaseTaskRepository
from affairs.case_tasks import OPEN_STATES
from affairs.demo_kit import DEPARTMENT_BY_CODE
from affairs.ecert_types import ECERT_TYPES
from affairs.workdays import WorkCalendar
from bench.cases_churn import WRITES_PER_S, Churn, inbox_step, my_cases_step
from bench.cases_people import Person
from bench.cases_seed import HISTORY_KEPT, CaseSeeder
from bench.load import wait_until_idle, wrk
from config.pii import pii_from_settings
from config.settings import Settings
from config.wiring import Dependencies
from core.clock import bson_time
from devstack import demo_login
from devstack.servers import LocalStack
from simulators.demo_people import by_key

# BENCH_CASES_SCALE=0.1 seeds a tenth of the cases (a quick check while working; the target is for 1).
SCALE = float(os.environ.get("BENCH_CASES_SCALE", "1"))
TOTAL_CASES, RESIDENTS, MY_CASES = int(100_000 * SCALE), max(100, int(20_000 * SCALE)), 25
RESIDENT_KEY = "wang-fang"
CONNECTIONS, P99_MS = 50, 50.0
# Each request does real work the bare server does not (token, session, a query, a view per item); the floor
# only catches a regression, the goal is the p99.
MY_CASES_TARGET, INBOX_TARGET = 0.15, 0.15
STAFF_PASSWORD = "Bench-password-2026"  # noqa: S105 - a throw-away account of a throw-away database
DB = "zsb_bench"


@dataclass(frozen=True)
class CaseScenario:
    name: str
    path: str
    target_ratio: float


CASE_SCENARIOS = {
    "my-cases": CaseScenario("my-cases", "/api/v1/cases", MY_CASES_TARGET),
    "inbox": CaseScenario("inbox", "/api/v1/staff/tasks", INBOX_TARGET),
}


@dataclass
class Seeded:
    resident_token: str
    staff_token: str
    draft_id: str  # the resident's real draft (the writes beside the my-cases load save it)
    report: str


_SEEDED: Seeded | None = None  # both scenarios share one database and one sign-in


def settings_for(stack: LocalStack, sim: str) -> Settings:
    sim_port = int(sim.rsplit(":", 1)[1])
    values: dict[str, Any] = {key.removeprefix("ZSB_").lower(): value for key, value in stack.env().items()}
    values.update(env="dev", mongodb_db=DB, sim_port=sim_port, sms_aliyun_endpoint=f"127.0.0.1:{sim_port}",
                  wechat_api_base_url=f"{sim}/wechat", population_base_url=f"{sim}/population")
    return Settings(**values)


# -- seeding --------------------------------------------------------------------------------------------------------
def published_versions(db: Any) -> list[dict[str, Any]]:
    """The live version of every listed matter that can be applied for online (what `apply.start` cites)."""
    live = [(m["_id"], m["published"]["version"]) for m in db.matters.find({"listed": True})]
    versions = [db.matter_versions.find_one({"matter_code": code, "version": number}) for code, number in live]
    return [v for v in versions if v and v["guide"]["channels"]["online"]]


def seed_cases(settings: Settings, resident: Person) -> tuple[dict[str, Any], str]:
    """Insert the cases, tasks, history and certificates; returns the busiest inbox and a report line."""
    cipher, _ = pii_from_settings(settings)
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongodb_uri, connectTimeoutMS=300_000,
                                                      serverSelectionTimeoutMS=300_000)
    db = client[DB]
    started = time.perf_counter()
    seeder = CaseSeeder(published_versions(db), WorkCalendar.from_settings(settings), cipher, bson_time(),
                        ecert_names={k: v.name for k, v in ECERT_TYPES.items()})
    # Bulk loads go faster without index upkeep: the indexes the repositories own are built again afterwards,
    # before anything reads (the local server may be busy for a minute: hence the patient client).
    for name in ("cases", "case_tasks", "case_events"):
        db[name].drop_indexes()
    open_by_scope: Counter[tuple[str, str]] = Counter()
    counts = Counter[str]()
    with ThreadPoolExecutor(2) as pool:
        pending = []
        for batch in seeder.seed(TOTAL_CASES, RESIDENTS, resident, MY_CASES):
            for task in batch.tasks:
                if task["state"] in OPEN_STATES:
                    open_by_scope[(task["department_code"], task["region_code"])] += 1
            counts.update(case["state"] for case in batch.cases)
            counts.update({"tasks": len(batch.tasks), "events": len(batch.events)})
            for name, docs in (("cases", batch.cases), ("case_tasks", batch.tasks), ("case_events", batch.events),
                               ("ecerts", batch.ecerts)):
                if docs:
                    pending.append(pool.submit(db[name].insert_many, docs, ordered=False))
            while len(pending) > 6:  # bounded memory: wait for the oldest inserts
                pending.pop(0).result()
        for future in pending:
            future.result()
    db.case_counters.insert_many(seeder.counter_docs(), ordered=False)
    inserted = time.perf_counter() - started
    for repository in (CaseRepository, CaseTaskRepository, CaseEventRepository):
        db[repository.collection_name].create_indexes(list(repository.indexes))
    seconds = time.perf_counter() - started
    (department, region), open_tasks = open_by_scope.most_common(1)[0]
    states = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()) if state not in ("tasks", "events"))
    report = (f"seeded {TOTAL_CASES} cases of {RESIDENTS} residents + 1 ({MY_CASES} cases) in {seconds:.0f} s"
              f" ({inserted:.0f} s inserting, the rest building indexes): {counts['tasks']} tasks"
              f" ({sum(open_by_scope.values())} open), {counts['events']} history events ({HISTORY_KEPT});"
              f" {states}")
    check_seeded(db, resident.id)
    client.close()
    return {"department": department, "region": region, "open_tasks": open_tasks}, report


def check_seeded(db: Any, person_id: str) -> None:
    """The benchmarked resident's seeded histories verify as the staff endpoint verifies them."""
    for case in db.cases.find({"applicant_person_id": person_id}):
        events = list(db.case_events.find({"case_id": case["_id"]}).sort("seq", 1))
        report = case_chain.verify(events, head_hash=case["chain_head"], expected_count=case["seq"])
        if not report.ok:
            raise RuntimeError(f"seeded case {case['_id']}: {report.reason}")


def key_shape(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {key: key_shape(value) for key, value in doc.items() if key not in ("form", "materials")}
    return type(doc).__name__ if doc is not None else None


async def real_draft_and_staff(settings: Settings, person_id: str, inbox: dict[str, Any]) -> tuple[str, str]:
    """Through the services: one real draft for the resident (its shape must equal a seeded draft's, so the
    seeder cannot drift from the code), and the staff account (as an administrator makes it): their ids."""
    deps = Dependencies.from_settings(settings)
    try:
        draft = await deps.cases.apply.start(person_id, "430100-GJJ-0001")
        seeded = await deps.db.cases.find_one({"applicant_person_id": person_id, "state": "draft",
                                               "_id": {"$ne": draft["_id"]}})
        if seeded is not None:
            real, ours = key_shape(draft), key_shape(seeded)
            if set(real) != set(ours) or real["matter"].keys() != ours["matter"].keys():
                raise RuntimeError(f"seeded drafts differ from the code's: {real} vs {ours}")
        department = DEPARTMENT_BY_CODE[inbox["department"]]
        username = f"bench{int(time.time())}"
        await deps.staff_admin.create_as_system(
            NewStaff(username=username, display_name="压测审批员", mobile=parse_cn_mobile(staff_phone(username)),
                     department_id=department.code, department_name=department.name, region_code=inbox["region"],
                     level=region_level(inbox["region"]).value, roles=("staff",)),
            initial_password=STAFF_PASSWORD, must_change_password=False)
        return str(draft["_id"]), username
    finally:
        await deps.close()


def staff_phone(username: str) -> str:
    return f"+86139{int(username.removeprefix('bench')) % 10**8:08d}"


# -- sign-in --------------------------------------------------------------------------------------------------------
def start_worker(stack: LocalStack, sim: str, workdir: Path) -> subprocess.Popen[bytes]:
    sim_port = sim.rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZSB_")}
    env.update(stack.env(), ZSB_ENV="dev", ZSB_MONGODB_DB=DB, ZSB_SIM_PORT=sim_port,
               ZSB_SMS_ALIYUN_ENDPOINT=f"127.0.0.1:{sim_port}", ZSB_SMS_TENCENT_ENDPOINT=f"127.0.0.1:{sim_port}")
    log = (workdir / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "notifications.celery_app", "worker", "--pool", "solo", "-Q",
         "urgent,default,bulk", "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
        env=env, stdout=log, stderr=subprocess.STDOUT)


def staff_sign_in(app: str, sim: str, username: str, wait_s: float = 60) -> str:
    """Password, then the SMS code as the phone receives it (the worker sends it to the SMS simulator)."""
    phone = staff_phone(username)
    with httpx.Client(timeout=10) as client:
        start = client.post(f"{app}/api/v1/staff/login", json={"username": username, "password": STAFF_PASSWORD})
        if start.status_code != 202:
            raise RuntimeError(f"staff password step: {start.text}")
        deadline = time.monotonic() + wait_s
        while not (messages := client.get(f"{sim}/_sim/sms/messages", params={"phone": phone}).json()["messages"]):
            if time.monotonic() > deadline:
                raise RuntimeError("no SMS code arrived (see worker.log in the bench directory)")
            time.sleep(0.2)
        verified = client.post(f"{app}/api/v1/staff/login/verify", headers={"X-Device-Name": "bench"},
                               json={"ticket": start.json()["ticket"], "code": messages[0]["params"]["code"]})
        if verified.status_code != 200:
            raise RuntimeError(f"staff SMS step: {verified.text}")
        return verified.json()["access_token"]


def prepare(stack: LocalStack, app: str, sim: str, workdir: Path) -> Seeded:
    global _SEEDED
    if _SEEDED is not None:
        return _SEEDED
    settings = settings_for(stack, sim)
    tokens = demo_login.login(RESIDENT_KEY, app, sim)
    person = tokens["person"]
    assert isinstance(person, dict)
    demo = by_key(RESIDENT_KEY)
    resident = Person(id=person["id"], name=demo.name, id_number=demo.id_number,
                      phone=demo.phone if person.get("phone") else None)
    inbox, report = seed_cases(settings, resident)
    draft_id, username = asyncio.run(real_draft_and_staff(settings, resident.id, inbox))
    worker = start_worker(stack, sim, workdir)
    try:
        staff_token = staff_sign_in(app, sim, username)
    finally:
        worker.terminate()
        worker.wait(15)
    department = DEPARTMENT_BY_CODE[inbox["department"]].name
    report += (f"\n  resident {RESIDENT_KEY}: {MY_CASES + 1} cases; staff of {department} ({inbox['region']}):"
               f" {inbox['open_tasks']} open tasks in the inbox")
    _SEEDED = Seeded(str(tokens["access_token"]), staff_token, draft_id, report)
    print(report)
    return _SEEDED


# -- load -----------------------------------------------------------------------------------------------------------
def auth_script(workdir: Path, name: str, token: str) -> str:
    script = workdir / f"{name}.lua"
    script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n', encoding="utf-8")
    return str(script)


def run_case_scenario(name: str, stack: LocalStack, app: str, bare: str, sim: str, workdir: Path, *,
                      rounds: int, seconds: int) -> bool:
    """Rounds of bare, app, and app while the page under test is written to (bench/cases_churn.py)."""
    scenario = CASE_SCENARIOS[name]
    seeded = prepare(stack, app, sim, workdir)
    waited = wait_until_idle(stack.processes["mongodb"].popen.pid)
    print(f"  (database idle after {waited:.0f} s: it keeps a core busy for a while after the bulk load)")
    token = seeded.resident_token if name == "my-cases" else seeded.staff_token
    one = httpx.get(f"{app}{scenario.path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    one.raise_for_status()
    items = len(one.json()["items"])
    bare_url, app_url = f"{bare}/payload?size={len(one.content)}", f"{app}{scenario.path}"
    step = inbox_step(app, token) if name == "inbox" else my_cases_step(app, token, seeded.draft_id)
    script = auth_script(workdir, name, token)
    for url in (bare_url, app_url):  # warm-up
        wrk(url, 1, CONNECTIONS, script=script)
    runs: list[tuple[dict[str, float], ...]] = []
    churns: list[Churn] = []
    for _ in range(rounds):
        measured = wrk(bare_url, seconds, CONNECTIONS, script=script), wrk(app_url, seconds, CONNECTIONS, script=script)
        with Churn(step, app=app, token=token) as churn:
            runs.append((*measured, wrk(app_url, seconds, CONNECTIONS, script=script)))
        churns.append(churn)
    print(f"\n{name}: GET {scenario.path} ({items} items, {len(one.content)} bytes; wrk -t1 -c{CONNECTIONS}"
          f" -d{seconds}s, {rounds} rounds; {TOTAL_CASES} cases in the database)")
    print(f"  {'server':<22}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>7}   (median round)")
    verdicts = []
    for label, index in (("bare", 0), ("app", 1), (f"app, {WRITES_PER_S:g} writes/s", 2)):
        ratios = sorted(run[index]["rps"] / run[0]["rps"] for run in runs)
        ratio, p99 = statistics.median(ratios), statistics.median(run[index]["p99_ms"] for run in runs)
        median = sorted((run[index] for run in runs), key=lambda r: r["rps"])[len(runs) // 2]
        print(f"  {label:<22}{median['rps']:>8.0f}{median['p50_ms']:>9.2f}{median['p99_ms']:>9.2f}{ratio:>7.2f}")
        if index:
            verdicts.append((label, ratio, ratios, p99))
    ok = True
    for label, ratio, ratios, p99 in verdicts:
        met = ratio >= scenario.target_ratio and p99 < P99_MS
        ok = ok and met
        print(f"  {label}: ratio {ratio:.2f} (min {ratios[0]:.2f}, max {ratios[-1]:.2f}), p99 {p99:.1f} ms"
              f" — {'meets' if met else 'MISSES'} the target (p99 < {P99_MS:.0f} ms, ratio ≥ {scenario.target_ratio:.0%})")
    writes = Churn.merged(churns)
    print(f"  the writes beside the load ({'claim/release' if name == 'inbox' else 'draft saves'}): {writes}"
          f"  [load average {os.getloadavg()[0]:.2f} at {datetime.now():%H:%M:%S}]")
    return ok
