"""100,000 cases for `./dev bench my-cases inbox`, written straight into the database in bulk.

Each case is replayed through the real workflow's pure parts, in memory, and the results are inserted in
batches: the state machine (`next_state`) decides every transition, history events are hash-chained with
`case_chain.seal` exactly as `History.record` / `History.note` store them, clocks come from `case_clock`
(start, pause, resume, stop on the China working-day calendar), tasks from `case_tasks.new_task`, forms from
`case_forms.prefill` / `case_forms.seal` (numbers encrypted with the app's cipher) and materials from
`case_materials.material_docs`. The fields each step sets mirror affairs/case_apply.py, case_review.py,
case_tasks.py and supervision.py step by step (`Replay` below). Outbox rows are not written: by the time a
case is old they have long been dispatched, and neither read measured here touches them; for the history kept,
see HISTORY_KEPT. One case's replay is bench/cases_replay.py.

The spread: cases over the last two years and the 35 published demo matters (weighted by how often people
need them), 20,000 residents, one benchmarked resident with 25 cases of their own, synthetic staff per
department. Old cases are finished (completed, not accepted, denied, withdrawn, abandoned drafts); recent ones
are in every state of the machine, so the open tasks (the inboxes) are the last weeks' work.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from affairs.case_states import CaseState
from affairs.workdays import SHANGHAI, WorkCalendar
from bench.cases_people import (
    Batch,
    Person,
    StaffMember,
    fake_name,
    fake_person,
    id_at,
)
from bench.cases_replay import Replay
from core.pii import FieldCipher

S = CaseState
DAY = 86400.0
HISTORY_DAYS = 730
RECENT_DAYS = 45  # younger cases may still be in flight; older ones are all finished
# The history (case_events) is stored for the benchmarked resident's cases and the recent ones (every case an
# inbox shows); older cases keep `seq` and `chain_head` of their full replayed history, but their ~700,000
# events are not inserted: neither measured read touches that collection, and they would take the local
# database many minutes to ingest.
# The same for e-certificates issued on completion: stored for the benchmarked resident only.
HISTORY_KEPT = "the resident's and the last 45 days' cases"

# What happened to a case, by age. Drafts are abandoned applications (they never leave the applicant's list).
OLD_OUTCOMES = {S.COMPLETED: 76, S.NOT_ACCEPTED: 5, S.DENIED: 3, S.WITHDRAWN: 6, S.DRAFT: 10}
RECENT_OUTCOMES = {S.DRAFT: 10, S.SUBMITTED: 12, S.PRE_REVIEW: 8, S.NEEDS_SUPPLEMENT: 8, S.RESUBMITTED: 3,
                   S.IN_REVIEW: 20, S.APPROVED: 4, S.COMPLETED: 25, S.NOT_ACCEPTED: 3, S.DENIED: 2,
                   S.WITHDRAWN: 5}
# How often a matter is asked for: people's everyday matters (medical insurance, housing fund, births,
# household register) far more than licences or a town's single matter.
MATTER_WEIGHT_BY_KIND = {"YB": 9, "GJJ": 8, "GA": 6, "WJ": 5, "RS": 5, "JY": 4, "MZ": 3, "BDC": 4, "SJ": 3,
                         "SW": 3, "FG": 1, "BM": 2}



class CaseSeeder:
    """Makes cases for people over matters; `seed()` yields batches ready for insert_many."""

    def __init__(self, versions: list[dict[str, Any]], calendar: WorkCalendar, cipher: FieldCipher, now: datetime,
                 *, ecert_names: dict[str, str], seed: int = 6) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - repeatable data, not secrets
        self.versions, self.calendar, self.cipher, self.now = versions, calendar, cipher, now
        self.ecert_names = ecert_names
        self.benched_id: str | None = None
        self.weights = [MATTER_WEIGHT_BY_KIND.get(v["matter_code"].split("-")[1], 2) for v in versions]
        self.staff: dict[str, list[StaffMember]] = {}
        self.counters: Counter[str] = Counter()
        self.encrypt: Callable[[str, str], str] = lambda value, context: cipher.encrypt(value, context=context)

    def staff_of(self, department_code: str) -> StaffMember:
        team = self.staff.get(department_code)
        if team is None:
            team = self.staff[department_code] = [
                StaffMember(id_at(self.now - timedelta(days=800), self.rng),
                            fake_name(self.rng, 2),
                            department_code) for _ in range(6)]
        return self.rng.choice(team)

    def receipt_no(self, region_code: str, at: datetime) -> str:
        prefix = region_code[:6] + at.astimezone(SHANGHAI).strftime("%Y%m%d")
        self.counters[prefix] += 1
        return f"{prefix}{self.counters[prefix]:05d}"

    def counter_docs(self) -> list[dict[str, Any]]:
        """`case_counters` as CaseReview._receipt_no leaves them."""
        return [{"_id": prefix, "seq": seq, "expires_at": self.now + timedelta(days=400)}
                for prefix, seq in self.counters.items()]

    def _outcome(self, age_days: float) -> CaseState:
        table = RECENT_OUTCOMES if age_days <= RECENT_DAYS else OLD_OUTCOMES
        return self.rng.choices(list(table), weights=list(table.values()))[0]

    def one(self, person: Person, batch: Batch, *, age_days: float | None = None) -> dict[str, Any]:
        rng, now = self.rng, self.now
        age = age_days if age_days is not None else rng.uniform(0.02, HISTORY_DAYS)
        started = now - timedelta(days=age)
        version = rng.choices(self.versions, weights=self.weights)[0]
        outcome = self._outcome(age)
        replay = Replay(self, version, person, started)
        # the steps to reach the outcome, each after a gap (seconds); gaps are shrunk to fit before now
        plan: list[tuple[str, float]] = []
        if outcome is not S.DRAFT:
            plan.append(("submit", rng.uniform(120, 7200)))
            if outcome not in (S.SUBMITTED,) and not (outcome is S.WITHDRAWN and rng.random() < 0.4):
                plan.append(("start_prereview", rng.uniform(600, 1.5 * DAY)))
                want_supplement = outcome in (S.NEEDS_SUPPLEMENT, S.RESUBMITTED) or rng.random() < 0.15
                if want_supplement:
                    plan.append(("request_supplement", rng.uniform(600, 0.5 * DAY)))
                    if outcome is not S.NEEDS_SUPPLEMENT:
                        plan.append(("resubmit", rng.uniform(0.2 * DAY, 3 * DAY)))
                        if outcome is not S.RESUBMITTED:
                            plan.append(("start_prereview", rng.uniform(600, DAY)))
                if outcome is S.NOT_ACCEPTED:
                    plan.append(("not_accept", rng.uniform(600, 0.5 * DAY)))
                elif outcome in (S.IN_REVIEW, S.APPROVED, S.COMPLETED, S.DENIED) or (
                        outcome is S.WITHDRAWN and rng.random() < 0.5):
                    plan.append(("accept", rng.uniform(600, 0.5 * DAY)))
                    if outcome in (S.APPROVED, S.COMPLETED, S.DENIED):
                        plan.append(("decide", rng.uniform(0.3 * DAY, version["guide"]["promised_days"] * DAY)))
                    elif outcome is S.IN_REVIEW and len(replay.case["department_codes"]) > 1 and rng.random() < 0.5:
                        plan.append(("decide_one", rng.uniform(0.3 * DAY, 2 * DAY)))
                    if outcome is S.COMPLETED:
                        plan.append(("complete", rng.uniform(600, DAY)))
            if outcome is S.WITHDRAWN:
                plan.append(("withdraw", rng.uniform(600, 2 * DAY)))
        total = sum(gap for _, gap in plan)
        room = (now - started).total_seconds() * 0.95
        scale = min(1.0, room / total) if total else 1.0
        at, staff = started, None
        for step, gap in plan:
            at = at + timedelta(seconds=gap * scale)
            if step == "submit":
                replay.submit(at)
            elif step == "resubmit":
                replay.resubmit(at)
            elif step == "withdraw":
                replay.withdraw(at)
            elif step == "start_prereview":
                staff = replay.start_prereview(at)
            elif step == "request_supplement":
                assert staff is not None
                replay.request_supplement(staff, at)
            elif step == "accept":
                assert staff is not None
                replay.accept(staff, at)
            elif step == "not_accept":
                assert staff is not None
                replay.not_accept(staff, at)
            elif step in ("decide", "decide_one"):
                reviews = replay._open("review")
                for position, task in enumerate(reviews if step == "decide" else reviews[:1]):
                    at += timedelta(seconds=position * rng.uniform(60, 3600) * scale)
                    replay.decide(task, not (outcome is S.DENIED and position == len(reviews) - 1), at)
            elif step == "complete":
                replay.complete(at, batch)
        # open review tasks of recent cases: some already claimed by someone
        for task in replay.tasks:
            if task["state"] == "open" and task["stage"] == "review" and rng.random() < 0.4:
                replay.claim(task, self.staff_of(task["department_code"]),
                             min(now, task["created_at"] + timedelta(seconds=rng.uniform(600, DAY))))
        replay.supervise(now)
        assert CaseState(replay.case["state"]) is outcome, (outcome, replay.case["state"], plan)
        batch.cases.append(replay.case)
        batch.tasks.extend(replay.tasks)
        if age <= RECENT_DAYS or age_days is not None:  # see HISTORY_KEPT
            batch.events.extend(replay.events)
        return replay.case

    def seed(self, total: int, residents: int, benched: Person, benched_cases: int,
             batch_size: int = 2000) -> Iterator[Batch]:
        """`total` cases: `benched_cases` of them the benchmarked resident's, the others over `residents`
        people (a few people with many cases, most with one or two)."""
        people = [fake_person(n, self.rng, self.now) for n in range(residents)]
        self.benched_id = benched.id
        mine = sorted(self.rng.sample(range(total), benched_cases))
        # the benchmarked resident's cases: a couple in flight, the rest over two years
        ages = iter(sorted([self.rng.uniform(0.5, 10), self.rng.uniform(2, 25)]
                           + [self.rng.uniform(30, HISTORY_DAYS) for _ in range(benched_cases - 2)]))
        batch = Batch()
        for n in range(total):
            if mine and n == mine[0]:
                mine.pop(0)
                self.one(benched, batch, age_days=next(ages))
            else:
                self.one(people[min(int(self.rng.paretovariate(1.2)) - 1, residents - 1) if self.rng.random() < 0.1
                                else self.rng.randrange(residents)], batch)
            if len(batch.cases) >= batch_size:
                yield batch
                batch = Batch()
        if batch.cases:
            yield batch


def digest(docs: list[dict[str, Any]]) -> str:
    """A short fingerprint of what was seeded (ids only), for the report."""
    return hashlib.sha256("".join(d["_id"] for d in docs).encode()).hexdigest()[:12]
